/**
 * The tie between the pool and its idle VMs. One small `sh` per pool, in its own session (a
 * terminal's ^C or a signal to the pool's process group does not reach it), reads a pipe whose
 * only writer is the pool. However the pool ends (SIGTERM, crash, kill -9), the kernel closes
 * that pipe, `read` sees EOF, and the shell execs the reaper (reap-main.ts) on the pool's tie
 * registry: the VMs still tied to the pool are stopped; adopted VMs are not in the registry.
 * Cutting the tie for one VM is removing it from the registry, which the pool does before it
 * confirms an adoption. Resident cost: one shell (about 1 MiB), not a Node process per VM.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { openSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";

const SCRIPT = 'while read -r _; do :; done; exec "$@"';

/** The loader flags of this process (e.g. `--import tsx` in tests), so the reaper loads like it. */
export function loaderArgs(execArgv: readonly string[]): string[] {
  const withValue = new Set(["--import", "--loader", "--experimental-loader", "--require", "-r"]);
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if (withValue.has(arg) && i + 1 < execArgv.length) out.push(arg, execArgv[++i]!);
    else if ([...withValue].some((flag) => arg.startsWith(`${flag}=`))) out.push(arg);
  }
  return out;
}

/** reap-main next to this module, .ts under tsx and .js when built. */
function reaperEntry(): string {
  return fileURLToPath(import.meta.url).replace(/watchdog\.(ts|js)$/, "reap-main.$1");
}

export class PoolWatchdog {
  private child: ChildProcess | undefined;
  private stopping = false;

  constructor(
    private readonly registryPath: string,
    private readonly stateDir: string,
    private readonly log: Logger,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    const logFd = openSync(`${this.registryPath}.reaper.log`, "a");
    const child = spawn(
      "/bin/sh",
      [
        "-c",
        SCRIPT,
        "tskata-pool-watchdog",
        process.execPath,
        ...loaderArgs(process.execArgv),
        reaperEntry(),
        this.registryPath,
        this.stateDir,
      ],
      { stdio: ["pipe", "ignore", logFd], detached: true },
    );
    this.child = child;
    child.once("exit", (code, signal) => {
      if (this.stopping) return;
      // without it nothing would stop the idle VMs if the pool died: start another
      this.log.error({ code, signal }, "pool watchdog exited; starting another");
      this.start();
    });
    child.stdin?.on("error", () => undefined);
    // the watchdog outlives the pool by design: do not let it keep our event loop alive
    child.unref();
    this.log.debug({ pid: child.pid }, "pool watchdog started");
  }

  /** On a graceful stop, after the pool stopped its VMs itself: the watchdog reaps nothing. */
  stop(): void {
    this.stopping = true;
    this.child?.stdin?.end();
  }
}
