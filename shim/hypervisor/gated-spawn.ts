/**
 * Starts a helper program (QEMU, virtiofsd) that runs only once its caller has recorded its pid.
 * The child is a shell waiting on a pipe from this process; release() lets it exec the program,
 * which keeps the shell's pid and start time (the identity a resources record names). If this
 * process dies before release() — SIGKILL included — the kernel closes the pipe, the shell reads
 * EOF and exits without exec: no helper ever runs that no record names, so crash cleanup and the
 * pool's reaper find everything that ran.
 */
import { type ChildProcess, spawn } from "node:child_process";

/** Reads one line; execs the program (stdin from /dev/null) only if the line is "go". */
const GATE = 'read -r go && [ "$go" = go ] && exec "$@" </dev/null';

export interface GatedChild {
  child: ChildProcess;
  /** Lets the program run. Call it after the pid is recorded; a no-op if the child is gone. */
  release(): void;
  /** Never lets it run: the shell reads EOF and exits (for a start that failed before release). */
  cancel(): void;
}

export function spawnGated(
  command: string,
  args: readonly string[],
  options: { stdout: "ignore" | "pipe"; stderr: "ignore" | "pipe" },
): GatedChild {
  const child = spawn("/bin/sh", ["-c", GATE, "tskata-gate", command, ...args], {
    stdio: ["pipe", options.stdout, options.stderr],
  });
  // a child already gone (killed while waiting) makes the write fail: nothing to release then
  child.stdin?.on("error", () => undefined);
  let settled = false;
  return {
    child,
    release() {
      if (settled) return;
      settled = true;
      child.stdin?.end("go\n");
    },
    cancel() {
      if (settled) return;
      settled = true;
      child.stdin?.destroy();
    },
  };
}
