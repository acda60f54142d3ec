/**
 * A pod's sandbox on the host: its VM, the agent inside it and the pod's network. `Sandbox.start`
 * attaches the pod netns CNI configured (a tap per interface, tc redirects), boots the VM at the
 * pod's size inside that netns, connects to the agent, waits for Health.Check, sends
 * CreateSandbox, configures the guest's interfaces and routes as CNI gave them, and starts the
 * port-forward relay; any failure on the way undoes all of it before the error leaves. `stop` asks the agent to destroy the sandbox and power off, bounded by the VM's own
 * stop sequence. `coldBootProvider` is the SandboxProvider that boots a fresh VM per pod.
 */
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { Logger } from "pino";
import { AgentClient } from "../agent-client/agent-client.js";
import type { TskataConfig } from "../config/types.js";
import type { VirtualMachine, VmExit } from "../hypervisor/hypervisor.js";
import { QemuHypervisor } from "../hypervisor/qemu/qemu-hypervisor.js";
import { attachPodNetwork, configureGuestNetwork, type PodNetwork, PortForwarder } from "../network/index.js";
import { epochNowMs, type Timeline } from "../timeline/timeline.js";
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
  /** Start-up phases are marked here as they end, the guest's included. */
  timeline?: Timeline;
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
    private readonly log: Logger,
    private readonly network: PodNetwork | undefined,
    private readonly forwarder: PortForwarder | undefined,
  ) {
    this.currentSize = size;
  }

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

  /** Resolves when the VM is gone, whatever the reason; never rejects. */
  get exited(): Promise<VmExit> {
    return this.vm.exited;
  }

  static async start(opts: SandboxOptions): Promise<Sandbox> {
    const { spec, timeline } = opts;
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
    const network = spec.netnsPath ? await attachPodNetwork(spec.netnsPath, log) : undefined;
    if (network) timeline?.mark("pod-network");
    let vm: VirtualMachine;
    try {
      vm = await new QemuHypervisor(config, log).start({
        sandboxId: spec.id,
        ...(network ? { network: network.vmNetwork } : {}),
        ...(timeline ? { timeline } : {}),
      });
    } catch (err) {
      await network
        ?.detach()
        .catch((e: unknown) => log.error({ err: e }, "detaching the pod network failed"));
      throw err;
    }
    const vmStartMs = performance.now() - t0;
    let client: AgentClient | undefined;
    let forwarder: PortForwarder | undefined;
    try {
      const stream = await vm.agent.connect({ timeoutMs: config.agent.dialTimeoutMs });
      client = new AgentClient(stream);
      const health = await client.waitReady(opts.agentTimeoutMs ?? 120_000);
      const agentReadyMs = performance.now() - t0;
      timeline?.markGuest(health.bootPhases, health.uptimeSeconds, epochNowMs());
      timeline?.mark("health");
      await client.agent.createSandbox(
        {
          sandboxId: spec.id,
          hostname: spec.hostname,
          dnsServers: spec.dns.servers,
          dnsSearch: spec.dns.searches,
          hostTime: timestampFromMs(Date.now()),
        },
        // the agent's budget, not a fixed 30 s: a guest on a busy (TCG) host answers late
        { timeoutMs: opts.agentTimeoutMs ?? 120_000 },
      );
      timeline?.mark("create-sandbox");
      if (network) {
        await configureGuestNetwork(client.agent, network, { log });
        timeline?.mark("guest-network");
        forwarder = await PortForwarder.start({ netnsPath: network.netnsPath, agent: client.agent, log });
        timeline?.mark("port-forward");
      }
      log.info({ vmStartMs, agentReadyMs, kind: spec.kind, size }, "sandbox ready");
      return new Sandbox(spec, vm, client, { vmStartMs, agentReadyMs }, size, log, network, forwarder);
    } catch (err) {
      await forwarder?.stop().catch(() => undefined);
      client?.close();
      await vm.stop();
      await network
        ?.detach()
        .catch((e: unknown) => log.error({ err: e }, "detaching the pod network failed"));
      throw err;
    }
  }

  /**
   * Hotplugs memory and vCPUs up to `target` (the hypervisor refuses what exceeds its limits,
   * changing nothing), then has the agent online them and waits until the guest sees them.
   */
  async resize(target: VmSize): Promise<VmSize> {
    if (target.memoryMib <= this.currentSize.memoryMib && target.vcpus <= this.currentSize.vcpus)
      return this.size;
    const grown = await this.vm.resize(target);
    this.currentSize = { memoryMib: grown.memoryMib, vcpus: grown.vcpus };
    const seen = await this.client.agent.onlineResources(
      { minVcpus: grown.vcpus, minMemoryMib: BigInt(grown.memoryMib), timeoutMs: 20_000 },
      { timeoutMs: 30_000 },
    );
    this.log.info(
      { size: grown, guestVcpus: seen.onlineVcpus, guestMemTotalKib: Number(seen.memTotalKib) },
      "sandbox grown",
    );
    return this.size;
  }

  /** Destroys the sandbox in the guest, powers the VM off and releases everything. Idempotent. */
  async stop(): Promise<VmExit> {
    await this.forwarder
      ?.stop()
      .catch((err: unknown) => this.log.warn({ err }, "stopping port forwarding failed"));
    const exit = await this.vm.stop({
      requestPoweroff: async () => {
        await this.client.agent.destroySandbox({ poweroff: true }, { timeoutMs: 10_000 });
      },
    });
    this.client.close();
    await this.network
      ?.detach()
      .catch((err: unknown) => this.log.error({ err }, "detaching the pod network failed"));
    return exit;
  }
}

/** Boots a fresh VM for every pod. */
export const coldBootProvider: SandboxProvider = {
  start: (request) => Sandbox.start(request),
};
