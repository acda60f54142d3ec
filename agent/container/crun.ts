/**
 * The OCI executor: crun, one short-lived child per call. Its own errors go to a log file
 * (--log), because during `create` and `exec` its stderr is the container process's stderr.
 */
import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import type { ChildStdio } from "../stdio/process-stdio.js";
import { ContainerError } from "./errors.js";

export interface CrunOptions {
  binary?: string;
  /** State directory (--root). */
  root?: string;
}

export interface CrunCall {
  /** stdio of the crun child (default: /dev/null in, stderr captured). */
  stdio?: ChildStdio;
  /** Called once the child is spawned (the caller closes its copies of the child's fds). */
  onSpawn?: () => void;
  /** Where crun logs (default: a file beside the state root). */
  logFile: string;
  input?: string;
}

/** Last error lines of crun's JSON or text log. */
function logTail(path: string): string {
  try {
    const lines = readFileSync(path, "utf8").trim().split("\n").slice(-3);
    return lines
      .map((l) => {
        try {
          return (JSON.parse(l) as { msg?: string }).msg ?? l;
        } catch {
          return l;
        }
      })
      .join("; ");
  } catch {
    return "";
  }
}

export class Crun {
  readonly binary: string;
  readonly root: string;

  constructor(options: CrunOptions = {}) {
    this.binary = options.binary ?? "/usr/bin/crun";
    this.root = options.root ?? "/run/crun";
  }

  /** Runs `crun <args>`; resolves with stdout, rejects ERR_CRUN_FAILED naming crun's reason. */
  run(args: string[], call: CrunCall): Promise<string> {
    rmSync(call.logFile, { force: true });
    const argv = [
      `--root=${this.root}`,
      "--cgroup-manager=cgroupfs",
      `--log=file:${call.logFile}`,
      "--log-format=json",
      ...args,
    ];
    return new Promise((resolve, reject) => {
      const stdio = call.stdio ?? ["ignore", "pipe", "pipe"];
      const child = spawn(this.binary, argv, { stdio: [...stdio] });
      call.onSpawn?.();
      let out = "";
      let err = "";
      child.stdout?.on("data", (d: Buffer) => {
        out += d.toString();
      });
      child.stderr?.on("data", (d: Buffer) => {
        err += d.toString();
      });
      child.on("error", (e) =>
        reject(new ContainerError("ERR_CRUN_FAILED", `crun ${args[0]}: ${e.message}`, { cause: e })),
      );
      child.on("close", (code, signal) => {
        if (code === 0) return resolve(out);
        const why = logTail(call.logFile) || err.trim() || `exit ${code ?? signal}`;
        reject(new ContainerError("ERR_CRUN_FAILED", `crun ${args[0]} failed: ${why}`));
      });
    });
  }
}
