/**
 * Whether a container's init really became its workload. `crun start` returns once it has
 * released the init (through exec.fifo), before the init calls execve; when execve then fails
 * (ENOEXEC: not a program the kernel can run; E2BIG; EACCES …) the init writes crun's reason to
 * the log of the `create` call that made it and exits 1. Without this check Start would succeed
 * and the task would just exit 1 with the reason nowhere (issue 9, item 6).
 *
 * The check: before Start, the init's /proc/<pid>/exe (crun's binary) is noted; after it, the exe
 * changing means the workload runs. The init ending first, with an error line added to crun's log
 * since create, means it could not start: that line is the reason.
 */
import { readFileSync, readlinkSync, statSync } from "node:fs";

export interface PreExec {
  /** What /proc/<pid>/exe named while the init waited in crun (undefined: unreadable, no check). */
  exe: string | undefined;
  logFile: string;
  /** The log's size then: what crun writes later is about the start. */
  logOffset: number;
}

function exeOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}

export function noteBeforeExec(pid: number, logFile: string): PreExec {
  let logOffset = 0;
  try {
    logOffset = statSync(logFile).size;
  } catch {
    // no log yet: everything in it will be new
  }
  return { exe: exeOf(pid), logFile, logOffset };
}

/** crun's error messages written to `logFile` after `offset` (JSON lines or text). */
export function crunErrorsSince(logFile: string, offset: number): string[] {
  let text: string;
  try {
    text = readFileSync(logFile).subarray(offset).toString("utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .flatMap((l) => {
      try {
        const entry = JSON.parse(l) as { msg?: string; level?: string };
        return entry.level === undefined || entry.level === "error" ? [entry.msg ?? l] : [];
      } catch {
        return [l];
      }
    });
}

/**
 * Resolves with the reason the init could not start, or undefined once it runs the workload
 * (or when nothing can be told within `windowMs`: the exit is then reported as usual).
 */
export async function execFailure(
  pid: number,
  pre: PreExec,
  exited: () => boolean,
  windowMs = 3_000,
): Promise<string | undefined> {
  if (pre.exe === undefined) return undefined;
  const deadline = Date.now() + windowMs;
  for (;;) {
    const exe = exeOf(pid);
    if (exe !== undefined && exe !== pre.exe) return undefined;
    if (exe === undefined || exited()) {
      // gone (or a zombie): it may have run and ended at once; only crun's error says otherwise
      const errors = crunErrorsSince(pre.logFile, pre.logOffset);
      return errors.length > 0 ? errors.join("; ") : undefined;
    }
    if (Date.now() > deadline) return undefined;
    await new Promise((r) => setTimeout(r, 5));
  }
}
