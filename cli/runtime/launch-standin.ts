/**
 * Starts a stand-in as a detached process holding this command's stdio (fds 0-2, the caller's;
 * /dev/null with a terminal, whose pty the stand-in makes),
 * and waits for its "ready" line on fd 3. The stand-in outlives this command: the caller (a
 * subreaper, as containerd's runc shim and conmon are) inherits it and reaps it.
 */
import { spawn } from "node:child_process";
import { constants } from "node:os";
import type { Readable } from "node:stream";
import { RuntimeError } from "./errors.js";
import type { ContainerStandinParams, ExecStandinParams } from "./standin.js";

export const STANDIN_COMMAND = "_standin";

export interface LaunchedStandin {
  pid: number;
  /** Resolves with the stand-in's exit status (only while this command still runs). */
  exited: Promise<number>;
}

export async function launchStandin(
  params: ContainerStandinParams | ExecStandinParams,
): Promise<LaunchedStandin> {
  const child = spawn(
    process.execPath,
    [...process.execArgv, process.argv[1]!, STANDIN_COMMAND, JSON.stringify(params)],
    // With a terminal the process's stdio is the pty: the stand-in must not hold this command's
    // stdout/stderr, which a Go caller (go-runc) reads to EOF before `create`/`exec` returns.
    {
      stdio: params.terminal
        ? ["ignore", "ignore", "ignore", "pipe"]
        : ["inherit", "inherit", "inherit", "pipe"],
      detached: true,
    },
  );
  const exited = new Promise<number>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 9)));
  });
  const ready = child.stdio[3] as Readable;
  let text = "";
  ready.on("data", (d: Buffer) => {
    text += d.toString("utf8");
  });
  await new Promise<void>((resolve) => {
    ready.once("close", resolve);
    ready.once("error", () => resolve());
  });
  const line = text.split("\n")[0] ?? "";
  let answer: { ok: boolean; error?: string } | undefined;
  try {
    answer = JSON.parse(line) as { ok: boolean; error?: string };
  } catch {
    answer = undefined;
  }
  if (!answer?.ok) {
    await exited;
    throw new RuntimeError(
      "RUNTIME_FAILED",
      answer?.error ?? "the container's stand-in exited before it was ready",
    );
  }
  child.unref();
  return { pid: child.pid!, exited };
}
