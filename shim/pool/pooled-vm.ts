/**
 * One VM of the pool: booted exactly like a pod's (QemuHypervisor: virtiofsd on an empty share,
 * QEMU, QMP), the agent answering Health.Check, and no CreateSandbox: that is the pod's, sent by
 * the shim that adopts it. The pool keeps its own QMP and agent connections while the VM is
 * idle (a VM that dies is noticed at once) and closes both when it hands the VM out.
 */
import type { Logger } from "pino";
import { AgentClient } from "../agent-client/agent-client.js";
import type { TskataConfig } from "../config/types.js";
import { identify, isAlive, type ProcessIdentity } from "../hypervisor/process-identity.js";
import { SPARE_NIC_PORTS } from "../hypervisor/qemu/nic-hotplug.js";
import { growthRoom } from "../hypervisor/qemu/plan.js";
import { QemuHypervisor } from "../hypervisor/qemu/qemu-hypervisor.js";
import { type QemuVm, within } from "../hypervisor/qemu/qemu-vm.js";
import { SandboxResources, sandboxPaths } from "../hypervisor/sandbox-resources.js";
import { PoolError } from "./errors.js";
import { pssKiB } from "./process-memory.js";
import type { Shape } from "./vm-shape.js";

export type PooledVmState = "idle" | "leased" | "adopted";

/** What a shim needs to take the VM over (the wire form is tskata.pool.v1.PooledVm). */
export interface PooledVmDescription {
  id: string;
  sandboxDir: string;
  qmpSocket: string;
  agentTransport: "virtio-serial" | "vsock";
  agentSocket: string;
  guestCid: number;
  vsockPort: number;
  virtiofsdSocket: string;
  virtiofsd: ProcessIdentity | undefined;
  qemu: ProcessIdentity;
  sharedDir: string;
  consoleLog: string;
  shape: Shape;
  maxShape: Shape;
  sharedMemory: boolean;
  imageIdentity: string;
}

/** What the pool needs of one of its VMs: a PooledVm, or a test double in the pool's unit tests. */
export interface PoolVm {
  readonly id: string;
  state: PooledVmState;
  readonly bootedAt: number;
  readonly description: PooledVmDescription;
  /** Resolves when the VM died while the pool supervised it. */
  readonly exited: Promise<unknown>;
  /** QEMU and virtiofsd, by pid and start time. */
  readonly processes: ProcessIdentity[];
  unusable(): Promise<string | undefined>;
  handOut(): Promise<void>;
  stop(): Promise<void>;
}

export class PooledVm implements PoolVm {
  state: PooledVmState = "idle";
  readonly bootedAt = Date.now();
  private agentClient: AgentClient | undefined;

  private constructor(
    readonly id: string,
    private readonly vm: QemuVm,
    agentClient: AgentClient,
    readonly description: PooledVmDescription,
  ) {
    this.agentClient = agentClient;
  }

  /** Resolves when the VM died while the pool supervised it (never after it was handed out). */
  get exited(): Promise<unknown> {
    return this.vm.exited;
  }

  get processes(): ProcessIdentity[] {
    return [this.description.qemu, ...(this.description.virtiofsd ? [this.description.virtiofsd] : [])];
  }

  /** Boots one VM for the pool; on failure nothing is left (QemuHypervisor tears down). */
  static async boot(
    config: TskataConfig,
    id: string,
    imageIdentity: string,
    log: Logger,
    agentTimeoutMs = 120_000,
  ): Promise<PooledVm> {
    // empty root ports: the adopting shim plugs a CRI pod's NICs into them (nic-hotplug.ts)
    const vm = await new QemuHypervisor(config, log, { nicHotplugPorts: SPARE_NIC_PORTS }).start({
      sandboxId: id,
    });
    let client: AgentClient | undefined;
    try {
      client = new AgentClient(await vm.agent.connect({ timeoutMs: config.agent.dialTimeoutMs }));
      await client.waitReady(agentTimeoutMs);
      const description = await describe(config, vm, id, imageIdentity);
      return new PooledVm(id, vm, client, description);
    } catch (err) {
      client?.close();
      await vm.stop({ timeoutMs: 1000 });
      throw new PoolError("POOL_BOOT_FAILED", `pool VM ${id}: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Why this VM must not be handed out, or undefined when it may: QEMU must be the same live
   * process, report "running" over QMP, and its agent must answer Health.Check.
   */
  async unusable(timeoutMs = 2000): Promise<string | undefined> {
    const answer = await within(this.check(timeoutMs), timeoutMs + 500);
    return answer === undefined
      ? `no answer within ${timeoutMs} ms (QMP or agent hung)`
      : answer || undefined;
  }

  /** "" when usable, else why not. */
  private async check(timeoutMs: number): Promise<string> {
    if (this.vm.state.kind !== "running") return `VM is ${this.vm.state.kind}`;
    if (!(await isAlive(this.description.qemu))) return `QEMU pid ${this.description.qemu.pid} is gone`;
    try {
      const status = await this.vm.status();
      if (!status.running) return `QEMU reports the VM ${status.status}`;
      if (!this.agentClient || this.agentClient.closed) return "the agent connection is closed";
      await this.agentClient.waitReady(timeoutMs);
    } catch (err) {
      return `health check failed: ${(err as Error).message}`;
    }
    return "";
  }

  /** Closes the pool's agent and QMP connections and stops supervising: the VM keeps running. */
  async handOut(): Promise<void> {
    this.agentClient?.close();
    this.agentClient = undefined;
    await this.vm.relinquish();
    this.state = "leased";
  }

  /** Stops an idle VM (graceful, short bound) and removes its sandbox directory. */
  async stop(): Promise<void> {
    this.agentClient?.close();
    this.agentClient = undefined;
    await this.vm.stop({ timeoutMs: 1000 });
  }

  /** QEMU + virtiofsd PSS in KiB. */
  async pssKiB(): Promise<number> {
    let sum = 0;
    for (const p of this.processes) sum += await pssKiB(p.pid);
    return sum;
  }
}

async function describe(
  config: TskataConfig,
  vm: QemuVm,
  id: string,
  imageIdentity: string,
): Promise<PooledVmDescription> {
  const paths = sandboxPaths(config.runtime.stateDir, id);
  const resources = await SandboxResources.load(config.runtime.stateDir, id);
  const recorded = resources?.processes ?? [];
  const qemu = recorded.find((p) => p.role === "qemu") ??
    (await identify(vm.pid)) ?? { pid: vm.pid, startTime: "" };
  const virtiofsd = recorded.find((p) => p.role === "virtiofsd");
  const vsock = /^vsock (\d+):(\d+)$/.exec(vm.agent.address);
  const room = await growthRoom(config);
  return {
    id,
    sandboxDir: paths.dir,
    qmpSocket: paths.qmpSocket,
    agentTransport: vm.agent.kind === "vsock" ? "vsock" : "virtio-serial",
    agentSocket: paths.agentSocket,
    guestCid: vsock ? Number(vsock[1]) : 0,
    vsockPort: vsock ? Number(vsock[2]) : 0,
    virtiofsdSocket: virtiofsd ? paths.virtiofsdSocket : "",
    virtiofsd: virtiofsd ? { pid: virtiofsd.pid, startTime: virtiofsd.startTime } : undefined,
    qemu: { pid: qemu.pid, startTime: qemu.startTime },
    sharedDir: paths.shared,
    consoleLog: paths.consoleLog,
    shape: vm.size,
    maxShape: { memoryMib: room.maxMemoryMib, vcpus: room.maxVcpus },
    sharedMemory: virtiofsd !== undefined,
    imageIdentity,
  };
}
