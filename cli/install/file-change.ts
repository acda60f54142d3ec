/**
 * A planned change to one file: its content before and after (undefined = absent). Commands plan
 * every change first (so a conflict aborts before anything is touched), then apply or, with
 * --dry-run, only describe them.
 */
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export interface FileChange {
  path: string;
  before: string | undefined;
  after: string | undefined;
  /** File mode when written. */
  mode: number;
  /** What the change is about, for the report. */
  what: string;
}

export function verbOf(change: FileChange): "create" | "update" | "remove" | "unchanged" {
  if (change.before === change.after) return "unchanged";
  if (change.before === undefined) return "create";
  if (change.after === undefined) return "remove";
  return "update";
}

/** Applies (unless dryRun) and returns one report line per change. */
export function applyChanges(changes: readonly FileChange[], dryRun: boolean): string[] {
  const lines: string[] = [];
  for (const change of changes) {
    const verb = verbOf(change);
    if (verb === "unchanged") {
      lines.push(`unchanged ${change.path}: ${change.what}`);
      continue;
    }
    lines.push(`${dryRun ? `would ${verb}` : `${verb}d`} ${change.path}: ${change.what}`);
    if (dryRun) continue;
    if (change.after === undefined) {
      rmSync(change.path, { force: true });
    } else {
      mkdirSync(dirname(change.path), { recursive: true });
      writeFileSync(change.path, change.after, { mode: change.mode });
      chmodSync(change.path, change.mode);
    }
  }
  return lines;
}
