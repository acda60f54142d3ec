import { spawn } from "node:child_process";
import { GuestImageError } from "./errors.js";

export interface RunOptions {
  cwd?: string;
  /** Bytes written to the child's stdin. */
  input?: Buffer | string;
  env?: NodeJS.ProcessEnv;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a program (no shell) and resolves with its output; rejects with ERR_GUEST_COMMAND_FAILED. */
export function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on("data", (b: Buffer) => out.push(b));
    child.stderr?.on("data", (b: Buffer) => err.push(b));
    child.on("error", (cause) => {
      reject(
        new GuestImageError("ERR_GUEST_COMMAND_FAILED", `cannot run ${file}: ${cause.message}`, { cause }),
      );
    });
    child.on("close", (code, signal) => {
      const stdout = Buffer.concat(out).toString("utf8");
      const stderr = Buffer.concat(err).toString("utf8");
      if (code === 0) {
        resolve({ stdout, stderr });
        return;
      }
      const how = signal ? `signal ${signal}` : `exit code ${code}`;
      const detail = stderr.trim().split("\n").slice(-5).join("\n");
      reject(
        new GuestImageError(
          "ERR_GUEST_COMMAND_FAILED",
          `${file} ${args.join(" ")} failed (${how}): ${detail}`,
        ),
      );
    });
    if (options.input !== undefined && child.stdin) {
      child.stdin.on("error", () => undefined); // a child that exits early closes its stdin: not our failure
      child.stdin.end(options.input);
    }
  });
}
