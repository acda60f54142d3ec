/** The seam between the sandbox and a VMM backend (QEMU today). Deliberately small. */
import type { AgentTransport } from "../agent-client/transport/transport.js";
import type { Timeline } from "../timeline/timeline.js";

/** The pod network's taps, already attached in the pod netns (shim/network attachPodNetwork). */
export interface VmNetworkRequest {
  /** CNI's pod netns: QEMU runs inside it and opens the taps by name. */
  netnsPath: string;
  nics: { tapName: string; mac: string; mtu: number }[];
  /** The netns is QEMU's own (see PodNetworkRecord.ownNetns); only for NICs plugged after boot. */
  ownNetns?: boolean;
}

export interface StartRequest {
  sandboxId: string;
  /** Absent: the VM has no network device. */
  network?: VmNetworkRequest;
  /** Start-up phases are marked here as they end (vm-plan, virtiofsd, qemu-spawn, qmp-ready). */
  timeline?: Timeline;
}

/** How a VM ended. `expected` is false when it died on its own (crash, kill, guest panic). */
export interface VmExit {
  expected: boolean;
  reason: string;
  code: number | null;
  signal: string | null;
  /** Last lines of the guest console (the console log itself is removed with the sandbox dir). */
  consoleTail: string;
}

export type VmState =
  | { kind: "running"; pid: number }
  | { kind: "stopping"; pid: number }
  | { kind: "stopped"; exit: VmExit }
  | { kind: "dead"; exit: VmExit };

export interface StopOptions {
  /**
   * Asks the guest to power off (e.g. the agent's DestroySandbox). Default: the ACPI power
   * button through QMP. Either way the wait is bounded, then QEMU is told to quit, then killed.
   */
  requestPoweroff?: () => Promise<void>;
  /**
   * The guest has nothing left to flush once requestPoweroff resolves (the agent's
   * DestroySandbox syncs before it answers): QEMU is told to quit at once instead of waiting for
   * the guest's own poweroff (~0.3 s under TCG), as Kata stops its VMs. A request that fails or
   * hangs still gets the bounded wait.
   */
  quitAfterRequest?: boolean;
  timeoutMs?: number;
}

export interface GuestStatus {
  running: boolean;
  /** QEMU's run state: "running", "paused", "shutdown", ... */
  status: string;
}

/** A VM's size: the memory and vCPUs QEMU gives it (the guest onlines them, see agent OnlineResources). */
export interface VmResources {
  memoryMib: number;
  vcpus: number;
}

export interface VirtualMachine {
  readonly sandboxId: string;
  readonly state: VmState;
  /** Host directory the guest sees through the shared filesystem. */
  readonly sharedDir: string;
  /** The agent channel; `connect()` fails at once when the VM is gone. */
  readonly agent: AgentTransport;
  /** Resolves once the VM is gone and its resources are released; never rejects. */
  readonly exited: Promise<VmExit>;
  /** Rejects with VmDeadError when the VM is gone. */
  status(): Promise<GuestStatus>;
  /** Graceful, bounded, then forced; idempotent. Resolves when everything is released. */
  stop(opts?: StopOptions): Promise<VmExit>;
  /**
   * Grows the running VM to at least `target` by hotplug (memory in 128 MiB DIMMs, rounded up;
   * vCPUs one by one); never shrinks (a smaller value keeps the current size). Resolves with
   * the new size. ResourcesExceededError (HYPERVISOR_RESOURCES_EXCEEDED) when the target is
   * above the VM's maximum or the host's available memory: nothing changes then. The guest
   * sees the memory at once; new vCPUs come online when the agent's OnlineResources runs.
   */
  resize(target: VmResources): Promise<VmResources>;
}

export interface Hypervisor {
  /** Starts a VM; on any failure everything already started is torn down before it throws. */
  start(request: StartRequest): Promise<VirtualMachine>;
}
