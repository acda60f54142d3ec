/**
 * Exit tracking for the processes the agent supervises. The agent is a child subreaper: container
 * processes are re-parented to it once crun exits. On SIGCHLD (and a slow safety poll) it calls
 * waitpid(pid, WNOHANG) for each pid it watches — never waitpid(-1), which would steal the
 * statuses of Node's own child_process children (crun). Zombie orphans from container pid
 * namespaces that nobody watches are reaped too, but only while no crun call is between its
 * exit and the registration of the pid it created (see hold()).
 */
import { readdirSync, readFileSync } from "node:fs";
import { setChildSubreaper, type WaitResult, waitpidNoHang } from "../../native/process.js";
import { decodeWaitStatus, type Termination } from "./exit-status.js";

export interface Exit {
  termination: Termination;
  exitedAt: Date;
}

export interface ReaperOptions {
  pollMs?: number;
  /** Replaceable for tests. */
  wait?: (pid: number) => WaitResult;
  onOrphanReaped?: (pid: number, t: Termination) => void;
}

/**
 * Zombie children of this process that came from a container: their pid namespace is nested
 * (NSpid has several entries), or their cgroup is one of the containers' (`cgroupPrefix`), for
 * containers that share the guest's pid namespace. Node's own children (crun) are neither.
 */
export function orphanZombies(selfPid: number, cgroupPrefix = "/tskata/", proc = "/proc"): number[] {
  const out: number[] = [];
  for (const name of readdirSync(proc)) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`${proc}/${name}/status`, "utf8");
      const state = /^State:\s+(\S)/m.exec(status)?.[1];
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
      if (state !== "Z" || ppid !== selfPid) continue;
      const nspid = /^NSpid:\s+(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/) ?? [];
      const cgroup = /^0::(.*)$/m.exec(readFileSync(`${proc}/${name}/cgroup`, "utf8"))?.[1] ?? "";
      if (nspid.length > 1 || cgroup.startsWith(cgroupPrefix)) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export class Reaper {
  private readonly watched = new Map<number, (exit: Exit) => void>();
  private readonly pending = new Map<number, Promise<Exit>>();
  private holds = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly onSigchld = () => this.sweep();
  private readonly wait: (pid: number) => WaitResult;

  constructor(private readonly options: ReaperOptions = {}) {
    this.wait = options.wait ?? waitpidNoHang;
  }

  private started = false;

  /**
   * Becomes the child subreaper and starts listening for SIGCHLD; later calls do nothing. Called
   * before the first container is created, not at boot (koffi stays off the boot path).
   */
  start(subreaper = true): void {
    if (this.started) return;
    this.started = true;
    if (subreaper) setChildSubreaper();
    process.on("SIGCHLD", this.onSigchld);
    this.timer = setInterval(() => this.sweep(), this.options.pollMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    this.started = false;
    process.off("SIGCHLD", this.onSigchld);
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * Keeps the orphan sweep off while a crun call may leave a process not yet watched; call the
   * returned function once its pid is watched (or the call failed).
   */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (!released) {
        released = true;
        this.holds--;
      }
    };
  }

  /** Resolves when `pid` (a child or re-parented descendant) has exited and been reaped. */
  watch(pid: number): Promise<Exit> {
    const existing = this.pending.get(pid);
    if (existing) return existing;
    const p = new Promise<Exit>((resolve) => this.watched.set(pid, resolve));
    this.pending.set(pid, p);
    this.check(pid);
    return p;
  }

  /** Whether the pid is still watched (has not been reaped). */
  isWatched(pid: number): boolean {
    return this.watched.has(pid);
  }

  sweep(): void {
    for (const pid of [...this.watched.keys()]) this.check(pid);
    if (this.holds === 0 && this.options.wait === undefined) this.reapOrphans();
  }

  private check(pid: number): void {
    const r = this.wait(pid);
    if (r.kind === "running") return;
    const resolve = this.watched.get(pid);
    if (!resolve) return;
    this.watched.delete(pid);
    this.pending.delete(pid);
    // "gone": not our child any more (reaped elsewhere): report it as killed
    const termination: Termination =
      r.kind === "reaped" ? decodeWaitStatus(r.status) : { kind: "signaled", signal: 9 };
    resolve({ termination, exitedAt: new Date() });
  }

  private reapOrphans(): void {
    let zombies: number[];
    try {
      zombies = orphanZombies(process.pid);
    } catch {
      return;
    }
    for (const pid of zombies) {
      if (this.watched.has(pid)) continue;
      const r = this.wait(pid);
      if (r.kind === "reaped") this.options.onOrphanReaped?.(pid, decodeWaitStatus(r.status));
    }
  }
}
