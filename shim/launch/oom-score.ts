/**
 * The shim's OOM score, as containerd's runc shim sets it (shim.AdjustOOMScore): one above its
 * parent's (containerd's), capped at 1000, so that under memory pressure the kernel kills a
 * shim (and the VM it started, which inherits the score) before containerd.
 */
import { readFileSync, writeFileSync } from "node:fs";

export const OOM_SCORE_ADJ_MAX = 1000;

export function adjustOomScore(pid: number, parentPid = process.ppid): number {
  const parent = Number(readFileSync(`/proc/${parentPid}/oom_score_adj`, "utf8").trim());
  const score = Math.min(parent + 1, OOM_SCORE_ADJ_MAX);
  writeFileSync(`/proc/${pid}/oom_score_adj`, String(score));
  return score;
}
