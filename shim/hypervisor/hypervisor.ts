/** The seam between the sandbox and a VMM backend (QEMU today). Deliberately small. */
import type { AgentTransport } from "../agent-client/transport/transport.js";

export interface StartRequest {
  sandboxId: string;
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
  timeoutMs?: number;
}

export interface GuestStatus {
  running: boolean;
  /** QEMU's run state: "running", "paused", "shutdown", ... */
  status: string;
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
}

export interface Hypervisor {
  /** Starts a VM; on any failure everything already started is torn down before it throws. */
  start(request: StartRequest): Promise<VirtualMachine>;
}
