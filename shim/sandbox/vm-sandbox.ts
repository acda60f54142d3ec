/**
 * What every PodSandbox on a VM has in common, however the VM came (booted for the pod, or
 * adopted from the warm pool): the agent client, the VM's size and its growth by hotplug, the
 * pod's CreateSandbox request and the stop sequence (the agent destroys the sandbox and powers
 * off, bounded by the VM's own stop), and the pod network beside the VM when the pod has one: the
 * port-forward relay ends while the guest still answers, the taps go once the VM is gone.
 */
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { Logger } from "pino";
import type { AgentClient } from "../agent-client/agent-client.js";
import type { MachineType } from "../config/types.js";
import type { StopOptions, VirtualMachine, VmExit } from "../hypervisor/hypervisor.js";
import { QemuVm } from "../hypervisor/qemu/qemu-vm.js";
import {
  attachConfiguredNetwork,
  configureGuestNetwork,
  type PodNetwork,
  type PortForwarder,
} from "../network/index.js";
import type { PodSandbox } from "./provider.js";
import type { SandboxSpec } from "./sandbox-spec.js";
import type { VmSize } from "./sizing.js";

/** The pod's CreateSandbox: hostname and DNS from its spec, the guest clock from the host's. */
export async function createGuestSandbox(
  client: AgentClient,
  spec: SandboxSpec,
  timeoutMs: number,
): Promise<void> {
  await client.agent.createSandbox(
    {
      sandboxId: spec.id,
      hostname: spec.hostname,
      dnsServers: spec.dns.servers,
      dnsSearch: spec.dns.searches,
      hostTime: timestampFromMs(Date.now()),
    },
    { timeoutMs },
  );
}

/** Detaches the pod network (when there is one), logging rather than throwing a failure. */
export async function detachLogged(network: PodNetwork | undefined, log: Logger): Promise<void> {
  await network?.detach().catch((err: unknown) => log.error({ err }, "detaching the pod network failed"));
}

/**
 * Undoes a sandbox start that failed once its VM was up: the relay, the agent connection, the VM,
 * then the pod network, each whatever the others did.
 */
export async function undoSandboxStart(parts: {
  vm: VirtualMachine;
  client: AgentClient | undefined;
  forwarder: PortForwarder | undefined;
  network: PodNetwork | undefined;
  log: Logger;
  vmStop?: StopOptions;
}): Promise<void> {
  await parts.forwarder?.stop().catch(() => undefined);
  parts.client?.close();
  await parts.vm.stop(parts.vmStop);
  await detachLogged(parts.network, parts.log);
}

export abstract class VmSandbox implements PodSandbox {
  protected currentSize: VmSize;
  private hookNetworkPlugged = false;

  protected constructor(
    readonly spec: SandboxSpec,
    readonly vm: VirtualMachine,
    readonly client: AgentClient,
    size: VmSize,
    protected readonly log: Logger,
    /** The pod network, its NICs in the VM; absent: the pod has none. */
    private readonly network: PodNetwork | undefined,
    /** The port-forward relay of the pod network. */
    private readonly forwarder: PortForwarder | undefined,
  ) {
    this.currentSize = { ...size };
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

  /**
   * After the container's host hooks ran: the network a hook configured in the VM's own netns
   * (QEMU's; Docker's libnetwork-setkey moves the container's veth there) is attached as a pod's
   * is (a tap per interface, tc redirects), its NICs hotplugged into the VM and configured in the
   * guest. Nothing when that netns holds only lo. The netns and its taps end with QEMU. Once per
   * sandbox: later calls do nothing.
   */
  async plugHookNetwork(machineType: MachineType): Promise<void> {
    if (this.hookNetworkPlugged || !(this.vm instanceof QemuVm)) return;
    this.hookNetworkPlugged = true;
    const network = await attachConfiguredNetwork(`/proc/${this.vm.pid}/ns/net`, this.log);
    if (!network) return;
    try {
      await this.vm.plugNetwork({ ...network.vmNetwork, ownNetns: true }, machineType);
      await configureGuestNetwork(this.client.agent, network, { log: this.log });
    } catch (err) {
      await detachLogged(network, this.log);
      throw err;
    }
    this.log.info({ nics: network.nics.map((n) => n.name) }, "the network a hook configured is plugged in");
  }

  /** Destroys the sandbox in the guest, powers the VM off and releases everything. Idempotent. */
  async stop(): Promise<VmExit> {
    // the relay talks to the guest: it ends while the guest still answers
    await this.forwarder
      ?.stop()
      .catch((err: unknown) => this.log.warn({ err }, "stopping port forwarding failed"));
    const exit = await this.vm.stop({
      requestPoweroff: async () => {
        await this.client.agent.destroySandbox({ poweroff: true }, { timeoutMs: 10_000 });
      },
      quitAfterRequest: true,
    });
    this.client.close();
    // the taps can only go once QEMU no longer holds them
    await detachLogged(this.network, this.log);
    return exit;
  }
}
