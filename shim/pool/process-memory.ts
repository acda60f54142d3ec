/** Host memory figures the pool reports and bounds itself by. */
import { readFile } from "node:fs/promises";

/** Proportional set size of a process in KiB (/proc/PID/smaps_rollup); 0 when it is gone. */
export async function pssKiB(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/smaps_rollup`, "utf8").catch(() => "");
  return Number(/^Pss:\s+(\d+) kB/m.exec(text)?.[1] ?? 0);
}
