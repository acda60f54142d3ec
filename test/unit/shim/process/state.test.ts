import { describe, expect, it } from "vitest";
import {
  assertAllowed,
  deleted,
  exited,
  type ProcessState,
  ProcessStateError,
  paused,
  resumed,
  started,
} from "../../../../shim/process/state.js";

const created: ProcessState = { kind: "created", pid: 7 };
const exit = { status: 42, at: 1000 };

describe("process state machine", () => {
  it("walks the init lifecycle created → running → paused → running → stopped → deleted", () => {
    let s = started(created, 7);
    expect(s).toEqual({ kind: "running", pid: 7 });
    s = paused(s, "init");
    expect(s.kind).toBe("paused");
    s = resumed(s, "init");
    expect(s.kind).toBe("running");
    s = exited(s, exit);
    expect(s).toEqual({ kind: "stopped", pid: 7, exit });
    s = deleted(s);
    expect(s).toEqual({ kind: "deleted", pid: 7, exit });
  });

  it("refuses illegal transitions with a message naming operation and state", () => {
    const running = started(created, 7);
    expect(() => started(running, 7)).toThrow("cannot start a running process");
    expect(() => deleted(running)).toThrow("cannot delete a running process");
    expect(() => resumed(running, "init")).toThrow("cannot resume a running process");
    expect(() => paused(created, "init")).toThrow("cannot pause a created process");
    expect(() => paused(running, "exec")).toThrow(ProcessStateError);
    const stopped = exited(running, exit);
    expect(() => started(stopped, 7)).toThrow("cannot start a stopped process");
    expect(() => paused(stopped, "init")).toThrow("cannot pause a stopped process");
    expect(() => deleted(deleted(stopped))).toThrow("cannot delete a deleted process");
  });

  it("keeps the first exit when a process is reported exited twice", () => {
    const stopped = exited(started(created, 7), exit);
    expect(exited(stopped, { status: 137, at: 2000 })).toBe(stopped);
  });

  it("allows delete of a process that never started, and exit of a paused one", () => {
    expect(deleted(created)).toEqual({ kind: "deleted", pid: 7, exit: undefined });
    expect(exited(paused(started(created, 7), "init"), exit).kind).toBe("stopped");
  });

  it("allows kill and exec only while the process can still run", () => {
    const running = started(created, 7);
    expect(() => assertAllowed(running, "kill")).not.toThrow();
    expect(() => assertAllowed(created, "exec")).not.toThrow();
    expect(() => assertAllowed(paused(running, "init"), "exec")).toThrow("cannot exec a paused process");
    const stopped = exited(running, exit);
    expect(() => assertAllowed(stopped, "kill")).toThrow("cannot kill a stopped process");
    expect(() => assertAllowed(stopped, "exec")).toThrow("cannot exec a stopped process");
    expect(() => assertAllowed(deleted(stopped), "resize")).toThrow("cannot resize a deleted process");
  });
});
