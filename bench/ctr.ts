/**
 * `ctr run --rm IMAGE ID true` through a real containerd 1.6, runc and tskata side by side, and
 * tskata against the bare-boot floor (QEMU + kernel + /init poweroff), median of N each; then the
 * PSS of every host process of one idle pod (shim + QEMU + virtiofsd).
 *
 *   npm run bench:ctr [-- --runs 5]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IMAGE, RUNTIME, startTskataContainerd } from "../cli/demo/tskata-containerd.js";
import { loadConfig } from "../shim/config/load.js";
import { sandboxProcesses, shimProcesses } from "../test/support/leftovers.js";
import { floorInitrd, floorRun, median, pssKiB } from "./peers/boot-floor.js";

const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;

async function main(): Promise<void> {
  const ctrd = await startTskataContainerd();
  const work = mkdtempSync(join(tmpdir(), "tskata-bench-ctr-"));
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
  try {
    const initrd = floorInitrd(work);
    for (let i = 0; i < RUNS; i++) {
      runc.push(await timed(["run", "--rm", IMAGE, `runc${i}`, "true"]));
      tskata.push(await timed(["run", "--rm", "--runtime", RUNTIME, IMAGE, `tsk${i}`, "true"]));
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
    const [r, t, f] = [median(runc), median(tskata), median(floor)];
    console.log(
      `accel ${config.hypervisor.accel} (this host: TCG), q35, ${config.hypervisor.memoryMib} MiB guest`,
    );
    console.log(
      `ctr run --rm true: runc median ${r.toFixed(0)} ms, tskata median ${t.toFixed(0)} ms (tskata/runc ${(t / r).toFixed(1)}x)`,
    );
    console.log(
      `bare-boot floor median ${f.toFixed(0)} ms; tskata/floor ${(t / f).toFixed(2)} (goal ≤ 1.25)`,
    );
    console.log(
      `idle pod PSS (shim + qemu + virtiofsd, ${pids.length} processes): ${(pss / 1024).toFixed(1)} MiB (goal ≤ 60 MB)`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
    await ctrd.close();
  }
}

await main();
