/**
 * Sandbox boot against the bare-QEMU floor, in one run (TCG on hosts without usable KVM):
 *  (a) floor: QEMU + the guest kernel + a trivial busybox /init that powers off, spawn → exit;
 *  (b) tskata: Sandbox.start → first successful Health.Check (VM, virtiofsd, agent);
 *  (c) tskata stop: DestroySandbox + poweroff → everything released;
 * median of N runs each, the ratio (b)/(a), and the PSS of QEMU + virtiofsd of one idle sandbox.
 *
 *   npm run bench:boot [-- --runs 5]
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { parseConfig } from "../shim/config/load.js";
import { Sandbox, standaloneSpec } from "../shim/sandbox/sandbox.js";
import { floorInitrd, floorRun, median, pssKiB } from "./peers/boot-floor.js";

const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
const MEMORY_MIB = 512;

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "tskata-bench-boot-"));
  const stateDir = join(work, "state");
  const config = parseConfig(
    `[hypervisor]\naccel = "tcg"\nmemory_mib = ${MEMORY_MIB}\n[runtime]\nstate_dir = "${stateDir}"\n`,
  );
  const log = pino({ level: "warn" });
  const kernel = config.hypervisor.kernel;
  const initrd = floorInitrd(work);
  const floor: number[] = [];
  const boot: number[] = [];
  const stop: number[] = [];
  const pss = { qemu: 0, virtiofsd: 0 };
  try {
    for (let i = 0; i < RUNS; i++) {
      floor.push(await floorRun(kernel, initrd, MEMORY_MIB));
      const t0 = performance.now();
      const sandbox = await Sandbox.start({ spec: standaloneSpec(`bench${i}`), config, log });
      boot.push(performance.now() - t0);
      if (i === 0) {
        await new Promise((r) => setTimeout(r, 3000)); // idle
        const record = JSON.parse(
          readFileSync(join(stateDir, "sandboxes", "bench0", "resources.json"), "utf8"),
        ) as {
          processes: { role: "qemu" | "virtiofsd"; pid: number }[];
        };
        for (const p of record.processes) pss[p.role] += pssKiB(p.pid);
      }
      const t1 = performance.now();
      await sandbox.stop();
      stop.push(performance.now() - t1);
      process.stdout.write(
        `run ${i + 1}/${RUNS}: floor ${floor[i]!.toFixed(0)} ms, boot ${boot[i]!.toFixed(0)} ms, stop ${stop[i]!.toFixed(0)} ms\n`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const f = median(floor);
  const b = median(boot);
  console.log(`accel tcg, q35, 1 vCPU, ${MEMORY_MIB} MiB, kernel ${kernel}`);
  console.log(`(a) floor: bare QEMU + kernel + /init poweroff   median ${f.toFixed(0)} ms`);
  console.log(`(b) tskata: start → Health.Check                  median ${b.toFixed(0)} ms`);
  console.log(`(c) tskata: stop                                   median ${median(stop).toFixed(0)} ms`);
  console.log(`ratio (b)/(a) = ${(b / f).toFixed(2)} (goal ≤ 1.25)`);
  console.log(
    `idle sandbox PSS: qemu ${(pss.qemu / 1024).toFixed(1)} MiB + virtiofsd ${(pss.virtiofsd / 1024).toFixed(1)} MiB = ${((pss.qemu + pss.virtiofsd) / 1024).toFixed(1)} MiB (goal ≤ 60 MB)`,
  );
}

await main();
