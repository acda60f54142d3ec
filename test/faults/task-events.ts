/**
 * containerd's /tasks/exit events as a client sees them: `ctr events` followed line by line
 * (`<time> <namespace> <topic> <json>`). Restartable, since a containerd restart ends the stream.
 */
import type { ChildProcess } from "node:child_process";
import type { ContainerdFixture } from "../../cli/demo/private-containerd.js";

export interface TaskExitEvent {
  containerId: string;
  id: string;
  exitStatus: number;
  /** ms since the epoch (containerd's nanoseconds truncated). */
  exitedAt: number;
}

/** RFC 3339 with up to nanoseconds → ms (Date parses at most milliseconds reliably). */
export function rfc3339Ms(text: string): number {
  return Date.parse(text.replace(/(\.\d{3})\d+/, "$1"));
}

export class TaskEvents {
  readonly exits: TaskExitEvent[] = [];
  private child: ChildProcess | undefined;
  private partial = "";

  constructor(private readonly ctrd: ContainerdFixture) {}

  async start(): Promise<void> {
    this.stop();
    const child = this.ctrd.spawnCtr(["events"]);
    this.child = child;
    child.stdout!.on("data", (d: Buffer) => this.onData(d.toString()));
    child.stderr!.resume();
    child.on("error", () => {});
    // `ctr events` prints nothing when subscribed; give the subscription a moment to be in place.
    await new Promise((r) => setTimeout(r, 300));
  }

  private onData(text: string): void {
    const lines = (this.partial + text).split("\n");
    this.partial = lines.pop() ?? "";
    for (const line of lines) {
      const m = /\s\/tasks\/exit\s+(\{.*\})\s*$/.exec(line);
      if (!m) continue;
      const e = JSON.parse(m[1]!) as {
        container_id: string;
        id: string;
        exit_status?: number;
        exited_at: string;
      };
      this.exits.push({
        containerId: e.container_id,
        id: e.id,
        exitStatus: e.exit_status ?? 0,
        exitedAt: rfc3339Ms(e.exited_at),
      });
    }
  }

  exitsOf(containerId: string, id = containerId): TaskExitEvent[] {
    return this.exits.filter((e) => e.containerId === containerId && e.id === id);
  }

  stop(): void {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null)
      this.child.kill("SIGKILL");
    this.child = undefined;
  }
}
