/**
 * `ctr run --rm IMAGE ID true` through a real containerd 1.6, runc and tskata side by side, and
 * tskata against the bare-boot floor (QEMU + kernel + /init poweroff), median of N each; then the
 * PSS of every host process of one idle pod (shim + QEMU + virtiofsd). Each tskata run's
 * start-up timeline (shim spawn → … → teardown) is read from the shim's debug lines in
 * containerd's log and printed per phase (median over runs), so every figure is explained.
 *
 *   npm run bench:ctr [-- --runs 5]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IMAGE, RUNTIME, startTskataContainerd } from "../cli/demo/tskata-containerd.js";
import { loadConfig } from "../shim/config/load.js";
import type { TimelinePhase } from "../shim/timeline/timeline.js";
import { sandboxProcesses, shimProcesses } from "../test/support/leftovers.js";
import { floorInitrd, floorRun, median, pssKiB } from "./peers/boot-floor.js";
import { between, medianPhases, timelineFromLog } from "./peers/timeline-log.js";
import { BenchConfig, warmRuns } from "./peers/warm-pool-phase.js";

const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
/** The refill delay compared with a configured 0 (long enough for a warm start to finish). */
const OTHER_REFILL_DELAY_MS = 5000;

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "tskata-bench-ctr-"));
  // the shims read this file (containerd passes TSKATA_CONF_FILE on): the configuration in use,
  // [factory] disabled for the cold runs, enabled for the warm ones (warm-pool-phase.ts)
  const benchConfig = new BenchConfig(work);
  const ctrd = await startTskataContainerd();
  const config = loadConfig();
  const timed = async (args: string[]) => {
    const t0 = performance.now();
    const r = await ctrd.exec(args, { timeoutMs: 300_000 });
    if (r.code !== 0) throw new Error(`ctr ${args.join(" ")}: exit ${r.code}: ${r.stderr}`);
    return performance.now() - t0;
  };
  const runc: number[] = [];
  const tskata: number[] = [];
  const floor: number[] = [];
  const timelines: TimelinePhase[][] = [];
  try {
    const initrd = floorInitrd(work);
    for (let i = 0; i < RUNS; i++) {
      runc.push(await timed(["run", "--rm", IMAGE, `runc${i}`, "true"]));
      tskata.push(await timed(["run", "--rm", "--runtime", RUNTIME, IMAGE, `tsk${i}`, "true"]));
      timelines.push(await timelineOf(ctrd.log, `tsk${i}`));
      floor.push(await floorRun(config.hypervisor.kernel, initrd, config.hypervisor.memoryMib));
      process.stdout.write(
        `run ${i + 1}/${RUNS}: runc ${runc[i]!.toFixed(0)} ms, tskata ${tskata[i]!.toFixed(0)} ms, floor ${floor[i]!.toFixed(0)} ms\n`,
      );
    }
    await timed(["run", "-d", "--runtime", RUNTIME, IMAGE, "idle", "sleep", "100000"]);
    await new Promise((r) => setTimeout(r, 3000));
    const pids = [...shimProcesses("idle"), ...sandboxProcesses("idle")].map((l) => Number(l.split(" ")[0]));
    const pss = pids.reduce((sum, pid) => sum + pssKiB(pid), 0);
    await ctrd.exec(["task", "kill", "-s", "SIGKILL", "idle"]);
    await ctrd.exec(["task", "rm", "-f", "idle"], { timeoutMs: 60_000 });
    await ctrd.exec(["containers", "rm", "idle"]);
    const warm = await warmRuns(ctrd, benchConfig, RUNS, (i, ms) =>
      process.stdout.write(`warm run ${i + 1}/${RUNS}: tskata warm ${ms.toFixed(0)} ms\n`),
    );
    // the same warm runs with the other refill policy: is the replacement's boot beside the
    // adopted pod's start what the configured factory.refill_delay_ms makes it?
    const configuredDelay = config.factory.refillDelayMs;
    const otherDelay = configuredDelay === 0 ? OTHER_REFILL_DELAY_MS : 0;
    const warmOther = await warmRuns(
      ctrd,
      benchConfig,
      RUNS,
      (i, ms) =>
        process.stdout.write(
          `warm run ${i + 1}/${RUNS} (refill_delay_ms ${otherDelay}): tskata warm ${ms.toFixed(0)} ms\n`,
        ),
      { idPrefix: "tskwarmb", refillDelayMs: otherDelay },
    );
    const [r, t, f] = [median(runc), median(tskata), median(floor)];
    const w = median(warm.ms);
    const warmTimelines: TimelinePhase[][] = [];
    for (let i = 0; i < warm.ms.length; i++) warmTimelines.push(await timelineOf(ctrd.log, `tskwarm${i}`));
    console.log(
      `accel ${config.hypervisor.accel} (this host: TCG), q35, ${config.hypervisor.memoryMib} MiB guest`,
    );
    console.log(
      `ctr run --rm true: runc median ${r.toFixed(0)} ms, tskata cold median ${t.toFixed(0)} ms (cold/runc ${(t / r).toFixed(1)}x), tskata warm median ${w.toFixed(0)} ms (warm/runc ${(w / r).toFixed(1)}x, goal ≤ 10; ${warm.adopted}/${warm.ms.length} runs adopted a pool VM)`,
    );
    const wo = median(warmOther.ms);
    console.log(
      `warm with factory.refill_delay_ms = ${configuredDelay} (configured): ${w.toFixed(0)} ms; with ${otherDelay}: ${wo.toFixed(0)} ms (${warmOther.adopted}/${warmOther.ms.length} adopted); configured/other ${(w / wo).toFixed(2)}`,
    );
    console.log(
      `warm pool: ${warm.poolSize} idle VM(s) of ${warm.shape}; pool daemon PSS ${(warm.daemonPssKiB / 1024).toFixed(1)} MiB, one idle pool VM (QEMU + virtiofsd) ${(warm.idleVmPssKiB / 1024).toFixed(1)} MiB`,
    );
    console.log(
      `bare-boot floor median ${f.toFixed(0)} ms; tskata/floor ${(t / f).toFixed(2)} (goal ≤ 1.25)`,
    );
    console.log(
      `idle pod PSS (shim + qemu + virtiofsd, ${pids.length} processes): ${(pss / 1024).toFixed(1)} MiB (goal ≤ 60 MB)`,
    );
    printTimeline(timelines);
    printTimeline(warmTimelines, "tskata warm (adopted pool VM)");
    // cold start → Health: from the sandbox's start (configuration loaded) to the agent's answer
    const toHealth = timelines.map((t) => between(t, "config", "health")).filter((x) => x !== undefined);
    if (toHealth.length > 0) {
      const h = median(toHealth);
      console.log(
        `cold sandbox start → Health median ${h.toFixed(0)} ms (${toHealth.length} runs); cold-start/floor ${(h / f).toFixed(2)} (goal ≤ 2.0)`,
      );
      console.log(`bench:ctr: warm/runc ${(w / r).toFixed(1)}, cold-start/floor ${(h / f).toFixed(2)}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
    await ctrd.close();
  }
}

/** The run's timeline from containerd's log (the shim's teardown line may trail the ctr exit). */
async function timelineOf(log: () => string, id: string): Promise<TimelinePhase[]> {
  for (let i = 0; i < 20; i++) {
    const phases = timelineFromLog(log(), id);
    if (phases.some((p) => p.phase === "teardown")) return phases;
    await new Promise((r) => setTimeout(r, 100));
  }
  return timelineFromLog(log(), id);
}

function printTimeline(runs: TimelinePhase[][], label = "tskata"): void {
  const with_ = runs.filter((r) => r.length > 0);
  if (with_.length === 0) {
    console.log("no start-up timeline in the shim log (is containerd at --log-level debug?)");
    return;
  }
  console.log(
    `${label} start-up timeline, median of ${with_.length} runs (ms; "at" from the start command):`,
  );
  for (const row of medianPhases(with_)) {
    console.log(
      `  ${row.phase.padEnd(24)} ${row.medianMs.toFixed(0).padStart(6)}   at ${row.endMs.toFixed(0).padStart(6)}`,
    );
  }
}

await main();
