/**
 * The lifecycle of a task process as containerd sees it, one union per state, and the only
 * transitions allowed between them. Init processes can be paused (the container's freezer);
 * exec processes cannot (they follow their container). A call that is illegal in the current
 * state fails with FAILED_PRECONDITION and a message naming the operation and the state, the
 * way containerd's runc shim words it ("cannot start a running process").
 */

export type ProcessKind = "init" | "exec";

export interface ExitInfo {
  status: number;
  /** Milliseconds since the epoch. */
  at: number;
}

export type ProcessState =
  | { kind: "created"; pid: number }
  | { kind: "running"; pid: number }
  | { kind: "paused"; pid: number }
  | { kind: "stopped"; pid: number; exit: ExitInfo }
  | { kind: "deleted"; pid: number; exit: ExitInfo | undefined };

export type Operation =
  | "start"
  | "pause"
  | "resume"
  | "delete"
  | "kill"
  | "exec"
  | "update"
  | "resize"
  | "close stdin of"
  | "list processes of";

export class ProcessStateError extends Error {
  override readonly name = "ProcessStateError";
  readonly code = "PROCESS_WRONG_STATE";
  constructor(
    readonly operation: Operation,
    readonly state: ProcessState["kind"],
  ) {
    super(`cannot ${operation} a ${state} process`);
  }
}

/** Operations each state allows besides its transitions (no state change). */
const ALLOWED: Record<ProcessState["kind"], ReadonlySet<Operation>> = {
  created: new Set(["kill", "exec", "update", "resize", "close stdin of", "list processes of"]),
  running: new Set(["kill", "exec", "update", "resize", "close stdin of", "list processes of"]),
  paused: new Set(["kill", "update", "resize", "close stdin of", "list processes of"]),
  stopped: new Set(["resize", "close stdin of", "list processes of"]),
  deleted: new Set([]),
};

export function assertAllowed(state: ProcessState, op: Operation): void {
  if (!ALLOWED[state.kind].has(op)) throw new ProcessStateError(op, state.kind);
}

export function started(state: ProcessState, pid: number): ProcessState {
  if (state.kind !== "created") throw new ProcessStateError("start", state.kind);
  return { kind: "running", pid };
}

export function paused(state: ProcessState, kind: ProcessKind): ProcessState {
  if (kind !== "init" || state.kind !== "running") throw new ProcessStateError("pause", state.kind);
  return { kind: "paused", pid: state.pid };
}

export function resumed(state: ProcessState, kind: ProcessKind): ProcessState {
  if (kind !== "init" || state.kind !== "paused") throw new ProcessStateError("resume", state.kind);
  return { kind: "running", pid: state.pid };
}

/** The process exited (or its VM died). A second exit report keeps the first. */
export function exited(state: ProcessState, exit: ExitInfo): ProcessState {
  switch (state.kind) {
    case "created":
    case "running":
    case "paused":
      return { kind: "stopped", pid: state.pid, exit };
    case "stopped":
    case "deleted":
      return state;
  }
}

/** Delete is allowed once the process never started or has stopped. */
export function deleted(state: ProcessState): ProcessState {
  if (state.kind === "created") return { kind: "deleted", pid: state.pid, exit: undefined };
  if (state.kind === "stopped") return { kind: "deleted", pid: state.pid, exit: state.exit };
  throw new ProcessStateError("delete", state.kind);
}
