/**
 * A pod's sandbox on a VM adopted from the warm pool: the VM booted in the pool (no boot phase
 * here), so starting it is connecting to its agent, checking Health, sending the pod's
 * CreateSandbox (hostname, DNS) and growing it to the pod's size by hotplug. Stopping and
 * resizing are the same as a cold-booted Sandbox's.
 */
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { Logger } from "pino";
import { AgentClient } from "../agent-client/agent-client.js";
import type { VmExit } from "../hypervisor/hypervisor.js";
import type { QemuVm } from "../hypervisor/qemu/qemu-vm.js";
import type { Timeline } from "../timeline/timeline.js";
import type { PodSandbox } from "./provider.js";
import type { SandboxSpec } from "./sandbox-spec.js";
import type { VmSize } from "./sizing.js";

export interface AdoptedSandboxOptions {
  spec: SandboxSpec;
  vm: QemuVm;
  /** The pod's size: the VM grows to it when smaller. */
  size: VmSize;
  /** The pool VM's id (its QEMU still carries it in its command line). */
  poolVmId: string;
  dialTimeoutMs: number;
  log: Logger;
  /** Phases marked as they end: health, create-sandbox (no boot phase: the VM booted in the pool). */
  timeline?: Timeline;
}

export class AdoptedSandbox implements PodSandbox {
  private constructor(
    readonly spec: SandboxSpec,
    readonly vm: QemuVm,
    readonly client: AgentClient,
    readonly poolVmId: string,
    private currentSize: VmSize,
    private readonly log: Logger,
  ) {}

  get id(): string {
    return this.spec.id;
  }

  get agent(): AgentClient["agent"] {
    return this.client.agent;
  }

  get health(): AgentClient["health"] {
    return this.client.health;
  }

  get sharedDir(): string {
    return this.vm.sharedDir;
  }

  get size(): VmSize {
    return { ...this.currentSize };
  }

  get exited(): Promise<VmExit> {
    return this.vm.exited;
  }

  /** Agent, CreateSandbox, sizing; on failure the VM is stopped before the error leaves. */
  static async start(opts: AdoptedSandboxOptions): Promise<AdoptedSandbox> {
    const { spec, vm, log } = opts;
    let client: AgentClient | undefined;
    try {
      client = new AgentClient(await vm.agent.connect({ timeoutMs: opts.dialTimeoutMs }));
      await client.waitReady(10_000);
      opts.timeline?.mark("health");
      await client.agent.createSandbox(
        {
          sandboxId: spec.id,
          hostname: spec.hostname,
          dnsServers: spec.dns.servers,
          dnsSearch: spec.dns.searches,
          hostTime: timestampFromMs(Date.now()),
        },
        { timeoutMs: 30_000 },
      );
      opts.timeline?.mark("create-sandbox");
      const sandbox = new AdoptedSandbox(spec, vm, client, opts.poolVmId, vm.size, log);
      await sandbox.resize(opts.size);
      return sandbox;
    } catch (err) {
      client?.close();
      await vm.stop({ timeoutMs: 1000 });
      throw err;
    }
  }

  async resize(target: VmSize): Promise<VmSize> {
    if (target.memoryMib <= this.currentSize.memoryMib && target.vcpus <= this.currentSize.vcpus)
      return this.size;
    const grown = await this.vm.resize(target);
    this.currentSize = { memoryMib: grown.memoryMib, vcpus: grown.vcpus };
    await this.client.agent.onlineResources(
      { minVcpus: grown.vcpus, minMemoryMib: BigInt(grown.memoryMib), timeoutMs: 20_000 },
      { timeoutMs: 30_000 },
    );
    this.log.info({ size: grown }, "adopted sandbox grown");
    return this.size;
  }

  async stop(): Promise<VmExit> {
    const exit = await this.vm.stop({
      requestPoweroff: async () => {
        await this.client.agent.destroySandbox({ poweroff: true }, { timeoutMs: 10_000 });
      },
    });
    this.client.close();
    return exit;
  }
}
