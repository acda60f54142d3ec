/**
 * One process the agent supervises (a container's init or an exec): its pid, stdio and exit.
 * wait() answers after the exit AND after the output has been fully taken from the process's
 * pipes, so that a host reading to EOF then waiting never misses output.
 */
import type { ProcessStdio } from "../stdio/process-stdio.js";
import { exitStatusOf } from "./exit-status.js";
import type { Exit } from "./reaper.js";

export interface ExitInfo {
  status: number;
  exitedAt: Date;
}

export type ProcessState = { kind: "running" } | { kind: "exited"; exit: ExitInfo };

/** After the exit, how long output may stay open (held by an escaped grandchild) before it is cut. */
export const DRAIN_GRACE_MS = 3000;

export async function drainAfterExit(stdio: ProcessStdio, graceMs: number): Promise<void> {
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      stdio.drained().then(() => false),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (!timedOut) return;
    // a full buffer waits for the host to read; an idle pipe held open elsewhere is cut
    if (!stdio.stdout.isPaused && !stdio.stderr.isPaused) {
      stdio.stdout.close();
      stdio.stderr.close();
      return;
    }
  }
}

export class SupervisedProcess {
  state: ProcessState = { kind: "running" };
  private readonly done: Promise<ExitInfo>;

  constructor(
    readonly execId: string,
    readonly pid: number,
    readonly stdio: ProcessStdio,
    exit: Promise<Exit>,
    onExit: (p: SupervisedProcess) => void,
    graceMs = DRAIN_GRACE_MS,
  ) {
    this.done = exit.then(async (e) => {
      const info: ExitInfo = { status: exitStatusOf(e.termination), exitedAt: e.exitedAt };
      this.state = { kind: "exited", exit: info };
      onExit(this);
      await drainAfterExit(stdio, graceMs);
      return info;
    });
  }

  get exited(): boolean {
    return this.state.kind === "exited";
  }

  /** The exit status, once the process exited and its output is all buffered. */
  wait(): Promise<ExitInfo> {
    return this.done;
  }
}
