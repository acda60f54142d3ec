/**
 * OOM kills per container from cgroup v2 memory.events (oom_kill counter): inotify on the file
 * (the kernel notifies on change) plus a slow poll as a safety net. Events queue until the host
 * long-polls them (GetOOMEvent).
 */
import { type FSWatcher, watch } from "node:fs";
import { join } from "node:path";
import { readFlatKeyed } from "./cgroup-fs.js";

type Tracked = { dir: string; seen: bigint; watcher: FSWatcher | undefined };

export class OomWatcher {
  private readonly tracked = new Map<string, Tracked>();
  private readonly queue: string[] = [];
  private waiters: ((id: string | undefined) => void)[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly pollMs = 1000) {}

  track(id: string, dir: string): void {
    const t: Tracked = { dir, seen: this.count(dir), watcher: undefined };
    try {
      t.watcher = watch(join(dir, "memory.events"), () => this.check(id));
      t.watcher.on("error", () => undefined);
    } catch {
      // no inotify on this file: the poll covers it
    }
    this.tracked.set(id, t);
    if (!this.timer) {
      this.timer = setInterval(() => {
        for (const key of this.tracked.keys()) this.check(key);
      }, this.pollMs);
      this.timer.unref();
    }
  }

  /** Checks once more (a process of it just exited), then forgets the container. */
  untrack(id: string): void {
    this.check(id);
    this.tracked.get(id)?.watcher?.close();
    this.tracked.delete(id);
    if (this.tracked.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Reads the counter now and queues an event if it grew. */
  check(id: string): void {
    const t = this.tracked.get(id);
    if (!t) return;
    const n = this.count(t.dir);
    if (n <= t.seen) return;
    t.seen = n;
    const w = this.waiters.shift();
    if (w) w(id);
    else this.queue.push(id);
  }

  /** The next container with an OOM kill; resolves undefined if `signal` aborts first. */
  next(signal?: AbortSignal): Promise<string | undefined> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve) => {
      const waiter = (id: string | undefined) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(id);
      };
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(undefined);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private count(dir: string): bigint {
    return readFlatKeyed(dir, "memory.events").get("oom_kill") ?? 0n;
  }
}
