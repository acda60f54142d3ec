/**
 * A pod's sandbox on the host: its VM and the agent inside it. `Sandbox.start` boots the VM at
 * the pod's size, connects to the agent, waits for Health.Check and sends CreateSandbox; any
 * failure on the way stops the VM (which releases everything it created) before the error
 * leaves. `stop` asks the agent to destroy the sandbox and power off, bounded by the VM's own
 * stop sequence. `coldBootProvider` is the SandboxProvider that boots a fresh VM per pod.
 */
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { Logger } from "pino";
import { AgentClient } from "../agent-client/agent-client.js";
import type { TskataConfig } from "../config/types.js";
import type { VirtualMachine, VmExit } from "../hypervisor/hypervisor.js";
import { QemuHypervisor } from "../hypervisor/qemu/qemu-hypervisor.js";
import type { PodSandbox, SandboxProvider } from "./provider.js";
import type { SandboxSpec } from "./sandbox-spec.js";
import type { VmSize } from "./sizing.js";

export interface SandboxOptions {
  spec: SandboxSpec;
  config: TskataConfig;
  /** The VM's size at boot; default: the configuration's. */
  size?: VmSize;
  log: Logger;
  /** Deadline for the agent's first Health.Check answer after the VM started. */
  agentTimeoutMs?: number;
}

export interface SandboxTimings {
  /** QEMU started (QMP answered) after this many ms. */
  vmStartMs: number;
  /** The agent answered Health.Check after this many ms (from the start call). */
  agentReadyMs: number;
}

/** A sandbox of one plain container (no pod): its id doubles as the hostname. */
export function standaloneSpec(id: string, hostname = id): SandboxSpec {
  return {
    id,
    kind: "standalone",
    podName: undefined,
    podNamespace: undefined,
    hostname,
    netnsPath: undefined,
    dns: { servers: [], searches: [], options: [] },
    announced: { memoryBytes: 0, cpuQuota: 0, cpuPeriod: 0 },
  };
}

export class Sandbox implements PodSandbox {
  private currentSize: VmSize;

  private constructor(
    readonly spec: SandboxSpec,
    readonly vm: VirtualMachine,
    readonly client: AgentClient,
    readonly timings: SandboxTimings,
    size: VmSize,
  ) {
    this.currentSize = size;
  }

  get id(): string {
    return this.spec.id;
  }

  get agent(): AgentClient["agent"] {
    return this.client.agent;
  }

  get sharedDir(): string {
    return this.vm.sharedDir;
  }

  get size(): VmSize {
    return { ...this.currentSize };
  }

  /** Resolves when the VM is gone, whatever the reason; never rejects. */
  get exited(): Promise<VmExit> {
    return this.vm.exited;
  }

  static async start(opts: SandboxOptions): Promise<Sandbox> {
    const { spec } = opts;
    const size = opts.size ?? {
      memoryMib: opts.config.hypervisor.memoryMib,
      vcpus: opts.config.hypervisor.vcpus,
    };
    const config: TskataConfig = {
      ...opts.config,
      hypervisor: { ...opts.config.hypervisor, memoryMib: size.memoryMib, vcpus: size.vcpus },
    };
    const log = opts.log.child({ sandboxId: spec.id });
    const t0 = performance.now();
    const vm = await new QemuHypervisor(config, log).start({ sandboxId: spec.id });
    const vmStartMs = performance.now() - t0;
    let client: AgentClient | undefined;
    try {
      const stream = await vm.agent.connect({ timeoutMs: config.agent.dialTimeoutMs });
      client = new AgentClient(stream);
      await client.waitReady(opts.agentTimeoutMs ?? 120_000);
      const agentReadyMs = performance.now() - t0;
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
      log.info({ vmStartMs, agentReadyMs, kind: spec.kind, size }, "sandbox ready");
      return new Sandbox(spec, vm, client, { vmStartMs, agentReadyMs }, size);
    } catch (err) {
      client?.close();
      await vm.stop();
      throw err;
    }
  }

  async resize(target: VmSize): Promise<VmSize> {
    if (target.memoryMib <= this.currentSize.memoryMib && target.vcpus <= this.currentSize.vcpus)
      return this.size;
    throw new Error("resize: not implemented yet");
  }

  /** Destroys the sandbox in the guest, powers the VM off and releases everything. Idempotent. */
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

/** Boots a fresh VM for every pod. */
export const coldBootProvider: SandboxProvider = {
  start: (request) => Sandbox.start(request),
};
