/**
 * Reads the shim's start-up timelines back out of a log: the shim writes one debug line per
 * phase (`timeline ID phase NAME MS ms at END ms`, shim/timeline/timeline.ts), which a private
 * containerd run with --log-level debug copies into its own log.
 */
import { parsePhaseLine, type TimelinePhase } from "../../shim/timeline/timeline.js";
import { median } from "./boot-floor.js";

/** Every phase line of timeline `id` in `log`, in time order (the last value of a phase wins). */
export function timelineFromLog(log: string, id: string): TimelinePhase[] {
  const byPhase = new Map<string, TimelinePhase>();
  for (const line of log.split("\n")) {
    const p = parsePhaseLine(line);
    if (p?.id === id) byPhase.set(p.phase, { phase: p.phase, durationMs: p.durationMs, endMs: p.endMs });
  }
  return [...byPhase.values()].sort((a, b) => a.endMs - b.endMs);
}

/** Median duration of each phase over runs, in the order of the first run that has it. */
export function medianPhases(runs: TimelinePhase[][]): { phase: string; medianMs: number; endMs: number }[] {
  const order: string[] = [];
  for (const run of runs) for (const p of run) if (!order.includes(p.phase)) order.push(p.phase);
  const rows = order.map((phase) => {
    const of = runs.flatMap((r) => r.filter((p) => p.phase === phase));
    return {
      phase,
      medianMs: median(of.map((p) => p.durationMs)),
      endMs: median(of.map((p) => p.endMs)),
    };
  });
  return rows.sort((a, b) => a.endMs - b.endMs);
}

/** ms between the ends of two phases of one run (undefined when either is missing). */
export function between(run: TimelinePhase[], from: string, to: string): number | undefined {
  const a = run.find((p) => p.phase === from);
  const b = run.find((p) => p.phase === to);
  return a && b ? b.endMs - a.endMs : undefined;
}

/** Lines for the per-phase medians of `runs` (runs without phases left out), headed by `label`. */
export function timelineTable(runs: TimelinePhase[][], label: string): string[] {
  const with_ = runs.filter((r) => r.length > 0);
  if (with_.length === 0)
    return [`${label}: no start-up timeline in the shim log (is containerd at --log-level debug?)`];
  return [
    `${label} start-up timeline, median of ${with_.length} runs (ms; "at" from the shim's start command):`,
    ...medianPhases(with_).map(
      (row) =>
        `  ${row.phase.padEnd(24)} ${row.medianMs.toFixed(0).padStart(6)}   at ${row.endMs.toFixed(0).padStart(6)}`,
    ),
  ];
}
