/**
 * Process supervision calls: child-subreaper, waitpid on one pid (never -1), kill, pipe2, close.
 * The agent reaps only pids it knows, so Node's own child_process children keep their statuses.
 */
import { check, koffi, libcFunc } from "./libc.js";

const PR_SET_CHILD_SUBREAPER = 36;
const WNOHANG = 1;
const O_CLOEXEC = 0o2000000;
const ECHILD = 10;

const fn = libcFunc;

/** Makes this process the reaper of its orphaned descendants (prctl PR_SET_CHILD_SUBREAPER). */
export function setChildSubreaper(): void {
  const prctl = fn<(op: number, a: number, b: number, c: number, d: number) => number>(
    "int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)",
  );
  check(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl", "PR_SET_CHILD_SUBREAPER");
}

/** A raw wait status as waitpid(2) returns it. */
export type WaitResult = { kind: "running" } | { kind: "gone" } | { kind: "reaped"; status: number };

/**
 * waitpid(pid, &status, WNOHANG) for one pid: "running" while it has not exited, "reaped" with
 * the raw status once collected, "gone" when it is not (or no longer) our child (ECHILD).
 */
export function waitpidNoHang(pid: number): WaitResult {
  if (!Number.isInteger(pid) || pid <= 0) throw new RangeError(`waitpid: refusing pid ${pid}`);
  const waitpid = fn<(pid: number, status: Int32Array, options: number) => number>(
    "int waitpid(int pid, _Out_ int *status, int options)",
  );
  const status = new Int32Array(1);
  const r = waitpid(pid, status, WNOHANG);
  if (r === 0) return { kind: "running" };
  if (r === pid) return { kind: "reaped", status: status[0]! };
  if (r === -1 && koffi().errno() === ECHILD) return { kind: "gone" };
  check(r, "waitpid", `pid ${pid}`);
  return { kind: "running" };
}

/** kill(2); ESRCH (already gone) is reported as false. */
export function kill(pid: number, signal: number): boolean {
  const k = fn<(pid: number, sig: number) => number>("int kill(int pid, int sig)");
  if (k(pid, signal) === 0) return true;
  const errno = koffi().errno();
  if (errno === 3) return false;
  return check(-1, "kill", `pid ${pid} signal ${signal}`) === 0;
}

/** pipe2(O_CLOEXEC): [read end, write end]. */
export function pipe(): [number, number] {
  const p = fn<(fds: Int32Array, flags: number) => number>("int pipe2(_Out_ int *fds, int flags)");
  const fds = new Int32Array(2);
  check(p(fds, O_CLOEXEC), "pipe2");
  return [fds[0]!, fds[1]!];
}

export function closeFd(fd: number): void {
  fn<(fd: number) => number>("int close(int fd)")(fd);
}

/** fcntl(F_SETPIPE_SZ): larger pipes mean fewer wake-ups for a fast writer. Best effort. */
export function setPipeSize(fd: number, bytes: number): void {
  const fcntl = fn<(fd: number, cmd: number, arg: number) => number>("int fcntl(int fd, int cmd, int arg)");
  fcntl(fd, 1031, bytes);
}
