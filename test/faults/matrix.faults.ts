/**
 * The full fault matrix (`npm run test:faults`): each fault at each stage where it applies (the
 * guest agent is reached through an exec, so from `running` on). Results go to
 * build/fault-matrix.json and the table printed at the end (docs/reliability.md records one run).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  applicable,
  type CellResult,
  closeBench,
  FAULTS,
  type FaultBench,
  openBench,
  reportCells,
  runCell,
  STAGES,
  violations,
} from "./fault-matrix.js";

let bench: FaultBench | undefined;
const results: CellResult[] = [];

beforeAll(async () => {
  bench = await openBench();
}, 180_000);

afterAll(async () => {
  reportCells(results, "fault-matrix.json");
  await closeBench(bench, "fault-containerd-matrix");
}, 120_000);

for (const fault of FAULTS) {
  describe(`fault: ${fault}`, () => {
    for (const stage of STAGES.filter((s) => applicable(fault, s))) {
      it(`at ${stage}: one exit with the true time, Wait answers, containerd usable, clean within 5 s`, async () => {
        const r = await runCell(bench!, fault, stage);
        results.push(r);
        expect(violations(r)).toEqual([]);
      });
    }
  });
}
