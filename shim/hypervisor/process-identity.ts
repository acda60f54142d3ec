/**
 * A pid alone can be reused after its process dies; a pid plus its start time (field 22 of
 * /proc/PID/stat, in clock ticks since boot) names one process for good. Used to kill recorded
 * helpers after a crash without hitting an unrelated process that inherited the pid.
 */
import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";

export interface ProcessIdentity {
  pid: number;
  startTime: string;
}

interface StatFields {
  state: string;
  startTime: string;
}

async function readStat(pid: number): Promise<StatFields | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, "utf8");
    // comm (field 2) may hold spaces and parentheses: split after its last ')'.
    const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { state: rest[0] ?? "", startTime: rest[19] ?? "" };
  } catch {
    return undefined;
  }
}

export async function identify(pid: number): Promise<ProcessIdentity | undefined> {
  const stat = await readStat(pid);
  return stat ? { pid, startTime: stat.startTime } : undefined;
}

/** True while the very process `id` names exists and is not a zombie. */
export async function isAlive(id: ProcessIdentity): Promise<boolean> {
  const stat = await readStat(id.pid);
  return stat !== undefined && stat.startTime === id.startTime && stat.state !== "Z" && stat.state !== "X";
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL and wait for it to go. Returns how it ended. */
export async function terminate(
  id: ProcessIdentity,
  graceMs: number,
): Promise<"not-running" | "terminated" | "killed" | "survived"> {
  if (!(await isAlive(id))) return "not-running";
  signal(id.pid, "SIGTERM");
  if (await waitGone(id, graceMs)) return "terminated";
  signal(id.pid, "SIGKILL");
  return (await waitGone(id, 2000)) ? "killed" : "survived";
}

export async function waitGone(id: ProcessIdentity, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (await isAlive(id)) {
    if (Date.now() >= deadline) return false;
    await sleep(10);
  }
  return true;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}
