/**
 * A pod's sandbox on the host: its VM, the agent inside it and the pod's network. `Sandbox.start`
 * attaches the pod netns CNI configured (a tap per interface, tc redirects), boots the VM at the
 * pod's size inside that netns, connects to the agent, waits for Health.Check, sends
 * CreateSandbox, configures the guest's interfaces and routes as CNI gave them, and starts the
 * port-forward relay; any failure on the way undoes all of it before the error leaves. Stopping
 * ends the relay, stops the VM (vm-sandbox.ts) and then detaches the pod network. `coldBootProvider` is the SandboxProvider that boots a fresh VM per pod.
 */
import type { Logger } from "pino";
import { AgentClient } from "../agent-client/agent-client.js";
import type { TskataConfig } from "../config/types.js";
import type { VirtualMachine } from "../hypervisor/hypervisor.js";
import { nicHotplugSupport, SPARE_NIC_PORTS } from "../hypervisor/qemu/nic-hotplug.js";
import { QemuHypervisor } from "../hypervisor/qemu/qemu-hypervisor.js";
import {
  attachConfiguredNetwork,
  attachPodNetwork,
  configureGuestNetwork,
  type PodNetwork,
  PortForwarder,
} from "../network/index.js";
import { epochNowMs, type Timeline } from "../timeline/timeline.js";
import type { SandboxProvider } from "./provider.js";
import type { SandboxSpec } from "./sandbox-spec.js";
import type { VmSize } from "./sizing.js";
import { createGuestSandbox, detachLogged, undoSandboxStart, VmSandbox } from "./vm-sandbox.js";

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

export class Sandbox extends VmSandbox {
  private constructor(
    spec: SandboxSpec,
    vm: VirtualMachine,
    client: AgentClient,
    readonly timings: SandboxTimings,
    size: VmSize,
    log: Logger,
    network: PodNetwork | undefined,
    forwarder: PortForwarder | undefined,
  ) {
    super(spec, vm, client, size, log, network, forwarder);
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
    const network = spec.netnsPath
      ? await attachPodNetwork(spec.netnsPath, log)
      : spec.givenNetnsPath
        ? await attachConfiguredNetwork(spec.givenNetnsPath, log)
        : undefined;
    if (network) timeline?.mark("pod-network");
    let vm: VirtualMachine;
    try {
      // a hook may configure the VM's own netns after boot: its NICs are then hotplugged
      const ports =
        spec.hookNetwork && nicHotplugSupport(config.hypervisor.machineType) !== "none" ? SPARE_NIC_PORTS : 0;
      vm = await new QemuHypervisor(config, log, { nicHotplugPorts: ports }).start({
        sandboxId: spec.id,
        ...(network ? { network: network.vmNetwork } : {}),
        ...(timeline ? { timeline } : {}),
      });
    } catch (err) {
      await detachLogged(network, log);
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
      // the agent's budget, not a fixed 30 s: a guest on a busy (TCG) host answers late
      await createGuestSandbox(client, spec, opts.agentTimeoutMs ?? 120_000);
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
      await undoSandboxStart({ vm, client, forwarder, network, log });
      throw err;
    }
  }
}

/** Boots a fresh VM for every pod. */
export const coldBootProvider: SandboxProvider = {
  start: (request) => Sandbox.start(request),
};
