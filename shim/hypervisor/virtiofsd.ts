/**
 * One virtiofsd per sandbox, serving the sandbox's shared directory on a vhost-user socket.
 * Debian's (C) virtiofsd serves a single VM connection and exits when that VM goes away, so
 * its exit after QEMU's is expected; an exit while the VM runs is a crash of the sandbox.
 */
import type { ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { VirtiofsCacheMode } from "../config/types.js";
import { HypervisorError } from "./errors.js";
import { spawnGated } from "./gated-spawn.js";

export interface VirtiofsdOptions {
  path: string;
  socketPath: string;
  sharedDir: string;
  cache: VirtiofsCacheMode;
  log: Logger;
  startTimeoutMs?: number;
  /** Records the daemon's pid; virtiofsd runs only after it resolves (gated-spawn.ts). */
  record: (pid: number) => Promise<void>;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class Virtiofsd {
  private stderrTail = "";
  readonly exited: Promise<ChildExit>;

  private constructor(private readonly child: ChildProcess) {
    child.stderr?.setEncoding("utf8").on("data", (s: string) => {
      this.stderrTail = (this.stderrTail + s).slice(-4096);
    });
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** SIGKILLs the daemon (used when its VM never came up). */
  kill(): void {
    this.child.kill("SIGKILL");
  }

  get stderr(): string {
    return this.stderrTail.trim();
  }

  /** Spawns virtiofsd and waits until its socket exists (or it exits, or the bound passes). */
  static async start(opts: VirtiofsdOptions): Promise<Virtiofsd> {
    const args = [
      `--socket-path=${opts.socketPath}`,
      "-o",
      `source=${opts.sharedDir}`,
      "-o",
      `cache=${opts.cache}`,
    ];
    opts.log.debug({ path: opts.path, args }, "starting virtiofsd");
    const gated = spawnGated(opts.path, args, { stdout: "ignore", stderr: "pipe" });
    const { child } = gated;
    const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
    const daemon = new Virtiofsd(child);
    if (child.pid === undefined) {
      const err = await spawnError;
      throw new HypervisorError("VIRTIOFSD_FAILED", `cannot run ${opts.path}: ${err.message}`, {
        cause: err,
      });
    }
    try {
      await opts.record(child.pid);
    } catch (err) {
      gated.cancel();
      throw err;
    }
    gated.release();
    const deadline = Date.now() + (opts.startTimeoutMs ?? 5000);
    let exit: ChildExit | undefined;
    void daemon.exited.then((e) => {
      exit = e;
    });
    for (;;) {
      if (exit) {
        throw new HypervisorError(
          "VIRTIOFSD_FAILED",
          `virtiofsd exited during start (code ${exit.code}, signal ${exit.signal}): ${daemon.stderr || "no output"}`,
        );
      }
      if (await isListening(opts.socketPath)) return daemon;
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new HypervisorError("VIRTIOFSD_FAILED", `virtiofsd did not create ${opts.socketPath} in time`);
      }
      await sleep(5);
    }
  }
}

const SO_ACCEPTCON = 0x10000;

/**
 * True once a unix socket at `path` is listening (/proc/net/unix flags). The file alone is not
 * enough: it exists from bind(), and QEMU connecting before listen() would be refused. Probing by
 * connecting is no option either: virtiofsd serves exactly one connection.
 */
export async function isListening(path: string): Promise<boolean> {
  const table = await readFile("/proc/net/unix", "utf8").catch(() => "");
  for (const line of table.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields[7] === path && (Number.parseInt(fields[3] ?? "0", 16) & SO_ACCEPTCON) !== 0) return true;
  }
  return false;
}
