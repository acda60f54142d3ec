/**
 * Debug processes (the host's `tskata exec`): commands run in the guest's root namespaces, not
 * in a container, with pipes or a pty, supervised like container processes (SupervisedProcess:
 * wait answers once the output is all buffered). They are addressed by exec id alone (an empty
 * container id on the wire). Exited ones are kept for their last output and exit status, the
 * oldest dropped beyond a bound, so nothing grows without limit.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { kill } from "../../native/process.js";
import { ContainerError } from "../container/errors.js";
import { isValidSignal, type Termination } from "../process/exit-status.js";
import type { Exit } from "../process/reaper.js";
import { type ExitInfo, SupervisedProcess } from "../process/supervised-process.js";
import { createPipeStdio } from "../stdio/pipe-stdio.js";
import type { ProcessStdio } from "../stdio/process-stdio.js";
import { createPtyStdio } from "../stdio/pty-stdio.js";

export interface DebugExecRequest {
  execId: string;
  args: string[];
  env: string[];
  cwd: string;
  terminal: boolean;
  stdin: boolean;
  rows: number;
  columns: number;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const ENV_ENTRY = /^[A-Za-z_][A-Za-z0-9_]*=/;
/** Exited processes kept for their output and status. */
const KEEP_EXITED = 16;
const BASE_ENV: Record<string, string> = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  HOME: "/root",
  TERM: "xterm",
};

export class DebugProcesses {
  private readonly processes = new Map<string, SupervisedProcess>();
  private readonly exitedOrder: string[] = [];

  /** setsid(1) with -c (busybox's or util-linux's), looked up at the first terminal request. */
  private setsidPath: string | null | undefined;

  private setsid(): string | undefined {
    this.setsidPath ??= ["/usr/bin/setsid", "/bin/setsid"].find((p) => existsSync(p)) ?? null;
    return this.setsidPath ?? undefined;
  }

  async start(req: DebugExecRequest): Promise<number> {
    if (!ID.test(req.execId))
      throw new ContainerError(
        "ERR_SPEC_INVALID",
        `exec id "${req.execId}" is not a valid id (${ID.source})`,
      );
    if (this.processes.has(req.execId))
      throw new ContainerError("ERR_PROCESS_EXISTS", `debug process ${req.execId} already exists`);
    if (req.args.length === 0 || req.args[0] === "")
      throw new ContainerError("ERR_SPEC_INVALID", "debug exec: args must name a command");
    const badEnv = req.env.find((e) => !ENV_ENTRY.test(e));
    if (badEnv !== undefined)
      throw new ContainerError(
        "ERR_SPEC_INVALID",
        `debug exec: env entry ${JSON.stringify(badEnv)} is not KEY=VALUE`,
      );
    const env = { ...BASE_ENV };
    for (const e of req.env) {
      const at = e.indexOf("=");
      env[e.slice(0, at)] = e.slice(at + 1);
    }
    const stdio: ProcessStdio = req.terminal
      ? createPtyStdio({ rows: req.rows, columns: req.columns })
      : createPipeStdio({ stdin: req.stdin });
    // with a terminal: a new session whose controlling terminal is the pty (job control, ^C)
    const setsid = req.terminal ? this.setsid() : undefined;
    const argv = setsid ? [setsid, "-c", ...req.args] : req.args;
    let child: ChildProcess;
    try {
      child = await spawned(argv, {
        cwd: req.cwd || "/",
        env,
        stdio: stdio.child.map((s) => (s === "ignore" ? "ignore" : s)) as ("ignore" | number)[],
      });
    } catch (err) {
      stdio.destroy();
      throw new ContainerError("ERR_EXEC_FAILED", `debug exec ${req.args[0]}: ${(err as Error).message}`, {
        cause: err,
      });
    } finally {
      stdio.afterSpawn();
    }
    const exit = new Promise<Exit>((resolve) => {
      child.once("exit", (code, signal) => {
        const termination: Termination =
          signal !== null
            ? { kind: "signaled", signal: signalNumber(signal) }
            : { kind: "exited", code: code ?? 0 };
        resolve({ termination, exitedAt: new Date() });
      });
    });
    const pid = child.pid!;
    const process = new SupervisedProcess(req.execId, pid, stdio, exit, () => this.onExit(req.execId));
    this.processes.set(req.execId, process);
    return pid;
  }

  get(execId: string): SupervisedProcess {
    const p = this.processes.get(execId);
    if (!p) throw new ContainerError("ERR_PROCESS_NOT_FOUND", `debug process ${execId} not found`);
    return p;
  }

  stdio(execId: string): ProcessStdio {
    return this.get(execId).stdio;
  }

  wait(execId: string): Promise<ExitInfo> {
    return this.get(execId).wait();
  }

  signal(execId: string, signal: number): void {
    if (!isValidSignal(signal))
      throw new ContainerError("ERR_SIGNAL_INVALID", `signal ${signal} is out of range (1-64)`);
    const p = this.get(execId);
    if (p.exited || !kill(p.pid, signal))
      throw new ContainerError("ERR_PROCESS_FINISHED", `debug process ${execId} has already exited`);
  }

  /** Kills every debug process still running (DestroySandbox). */
  killAll(): void {
    for (const p of this.processes.values()) if (!p.exited) kill(p.pid, 9);
  }

  private onExit(execId: string): void {
    this.exitedOrder.push(execId);
    while (this.exitedOrder.length > KEEP_EXITED) {
      const old = this.exitedOrder.shift()!;
      this.processes.get(old)?.stdio.destroy();
      this.processes.delete(old);
    }
  }
}

/** Resolves once the child runs, rejects when it could not be spawned (ENOENT …). */
function spawned(
  argv: string[],
  opts: { cwd: string; env: Record<string, string>; stdio: ("ignore" | number)[] },
): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), opts);
    child.once("error", reject);
    child.once("spawn", () => {
      child.off("error", reject);
      resolve(child);
    });
  });
}

function signalNumber(name: NodeJS.Signals): number {
  return (osConstants.signals as Record<string, number>)[name] ?? 9;
}
