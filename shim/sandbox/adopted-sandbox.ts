/**
 * A pod's sandbox on a VM adopted from the warm pool: the VM booted in the pool (no boot phase
 * here), so starting it is connecting to its agent, checking Health, sending the pod's
 * CreateSandbox (hostname, DNS), configuring the pod network in the guest when the pod has one
 * (its NICs were hotplugged by the provider: pool-provider.ts), starting the port-forward relay
 * and growing it to the pod's size by hotplug. Stopping ends the relay, stops the VM
 * (vm-sandbox.ts) and then detaches the pod network, as for a cold sandbox.
 */
import type { Logger } from "pino";
import { AgentClient } from "../agent-client/agent-client.js";
import type { QemuVm } from "../hypervisor/qemu/qemu-vm.js";
import { configureGuestNetwork, type PodNetwork, PortForwarder } from "../network/index.js";
import type { Timeline } from "../timeline/timeline.js";
import type { SandboxSpec } from "./sandbox-spec.js";
import type { VmSize } from "./sizing.js";
import { createGuestSandbox, undoSandboxStart, VmSandbox } from "./vm-sandbox.js";

export interface AdoptedSandboxOptions {
  spec: SandboxSpec;
  vm: QemuVm;
  /** The pod's size: the VM grows to it when smaller. */
  size: VmSize;
  /** The pool VM's id (its QEMU still carries it in its command line). */
  poolVmId: string;
  dialTimeoutMs: number;
  log: Logger;
  /** The pod network, its NICs already plugged into the VM; absent: the pod has none. */
  network?: PodNetwork;
  /**
   * Phases marked as they end: health, create-sandbox, guest-network, port-forward (no boot
   * phase: the VM booted in the pool).
   */
  timeline?: Timeline;
}

export class AdoptedSandbox extends VmSandbox {
  private constructor(
    spec: SandboxSpec,
    vm: QemuVm,
    client: AgentClient,
    readonly poolVmId: string,
    size: VmSize,
    log: Logger,
    network: PodNetwork | undefined,
    forwarder: PortForwarder | undefined,
  ) {
    super(spec, vm, client, size, log, network, forwarder);
  }

  /**
   * Agent, CreateSandbox, guest network, port forwarding, sizing; on failure the VM is stopped
   * and the pod network detached before the error leaves.
   */
  static async start(opts: AdoptedSandboxOptions): Promise<AdoptedSandbox> {
    const { spec, vm, log, network } = opts;
    let client: AgentClient | undefined;
    let forwarder: PortForwarder | undefined;
    try {
      client = new AgentClient(await vm.agent.connect({ timeoutMs: opts.dialTimeoutMs }));
      await client.waitReady(10_000);
      opts.timeline?.mark("health");
      await createGuestSandbox(client, spec, 30_000);
      opts.timeline?.mark("create-sandbox");
      if (network) {
        // UpdateInterface waits (bounded) for the hotplugged NIC's MAC to appear in the guest
        await configureGuestNetwork(client.agent, network, { log });
        opts.timeline?.mark("guest-network");
        forwarder = await PortForwarder.start({ netnsPath: network.netnsPath, agent: client.agent, log });
        opts.timeline?.mark("port-forward");
      }
      const sandbox = new AdoptedSandbox(spec, vm, client, opts.poolVmId, vm.size, log, network, forwarder);
      await sandbox.resize(opts.size);
      return sandbox;
    } catch (err) {
      await undoSandboxStart({ vm, client, forwarder, network, log, vmStop: { timeoutMs: 1000 } });
      throw err;
    }
  }
}
