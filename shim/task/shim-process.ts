/**
 * One task process (a container's init, or an exec) as the shim tracks it: its state machine,
 * its stdio bridge, and its exit, which every Wait caller receives.
 */

import {
  assertAllowed,
  type ExitInfo,
  exited,
  type Operation,
  type ProcessKind,
  type ProcessState,
} from "../process/state.js";
import type { IoBridge, ProcessIo } from "./io-bridge.js";

export class ShimProcess {
  state: ProcessState = { kind: "created", pid: 0 };
  io: IoBridge | undefined;
  readonly exit: Promise<ExitInfo>;
  private resolveExit!: (e: ExitInfo) => void;

  constructor(
    readonly kind: ProcessKind,
    readonly containerId: string,
    /** Empty for init. */
    readonly execId: string,
    readonly stdio: ProcessIo,
    /** OCI Process JSON for an exec (undefined for init). */
    readonly processJson: Uint8Array | undefined,
  ) {
    this.exit = new Promise((resolve) => {
      this.resolveExit = resolve;
    });
  }

  get id(): string {
    return this.execId || this.containerId;
  }

  get pid(): number {
    return this.state.pid;
  }

  assert(op: Operation): void {
    assertAllowed(this.state, op);
  }

  /** Records the exit (first report wins) and releases every waiter. */
  markExited(exit: ExitInfo): void {
    this.state = exited(this.state, exit);
    if (this.state.kind === "stopped" || this.state.kind === "deleted") {
      const e = this.state.exit;
      if (e) this.resolveExit(e);
    }
  }
}
