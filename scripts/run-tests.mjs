#!/usr/bin/env node
// Runs the vitest suite (arguments are passed through) and ends with one plain summary line,
// "Tests: N passed, N failed, N skipped", which CI reads. Exit code is vitest's.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const resultFile = join(root, "build/test-results.json");
mkdirSync(join(root, "build"), { recursive: true });
rmSync(resultFile, { force: true });

const vitest = join(root, "node_modules/.bin/vitest");
const args = [
  "run",
  "--reporter=default",
  "--reporter=json",
  `--outputFile.json=${resultFile}`,
  ...process.argv.slice(2),
];
const r = spawnSync(vitest, args, { stdio: "inherit", cwd: root });

let summary = "Tests: 0 passed, 0 failed (no result file: vitest did not finish)";
try {
  const res = JSON.parse(readFileSync(resultFile, "utf8"));
  const skipped = res.numPendingTests + res.numTodoTests;
  summary =
    `Tests: ${res.numPassedTests} passed, ${res.numFailedTests} failed` +
    (skipped ? `, ${skipped} skipped` : "");
} catch {}
console.log(summary);
process.exit(r.status ?? 1);
