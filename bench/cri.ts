/**
 * Kubernetes pods through containerd 1.6's real CRI plugin (test/support/cri/cri-containerd.ts:
 * one private containerd, handlers `runc` and `tskata`), acting as the kubelet:
 * (1) RunPodSandbox → first container running (CreateContainer + StartContainer of busybox
 *     `sleep 1000`, then ContainerStatus RUNNING), runc and tskata (cold boot) interleaved in the
 *     same run; then "tskata warm": the same pod start with `[factory] enabled` and a running
 *     `tskata pool serve` (pool_size 1), each run waiting until the pool has refilled so every run
 *     can adopt; the shim's start-up timeline of each tskata pod (its sandbox task's phase lines
 *     in containerd's debug log) is printed per phase, median over the runs, cold and warm;
 * (2) host PSS per idle tskata pod with 1, 5 and 10 pods (shim + QEMU + virtiofsd of each pod,
 *     from its resources.json), pods started BENCH_BATCH at a time and measured once idle.
 * Every pod is stopped and removed, the pool daemon and the harness stopped on every path (also
 * on SIGINT/SIGTERM).
 *
 *   npm run bench:cri          env: BENCH_RUNS (5), BENCH_PODS ("1,5,10"), BENCH_BATCH (2),
 *                                   BENCH_IDLE_MS (5000), BENCH_ACCEL ("auto": the shim's choice)
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ContainerState } from "../protocol/generated/cri/runtime/v1/api_pb.js";
import type { TimelinePhase } from "../shim/timeline/timeline.js";
import { BUSYBOX_IMAGE, type CriContainerd, startCriContainerd } from "../test/support/cri/cri-containerd.js";
import { type ContainerInit, kubeletPodConfig, type SandboxInit } from "../test/support/cri/pod-ops.js";
import { STATE_DIR } from "../test/support/leftovers.js";
import { type BenchPool, startBenchPool } from "./peers/bench-pool.js";
import { median } from "./peers/boot-floor.js";
import {
  cpuTicks,
  memfdPssKiB,
  type PodProcess,
  type PodProcessRole,
  podProcesses,
  qemuAccel,
} from "./peers/pod-processes.js";
import { timelineFromLog, timelineTable } from "./peers/timeline-log.js";

type Handler = "runc" | "tskata";

function intEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`${name}=${JSON.stringify(raw)}: expected an integer >= ${min}`);
  return n;
}

function podCountsEnv(): number[] {
  const raw = process.env["BENCH_PODS"] ?? "1,5,10";
  const counts = raw.split(",").map((s) => Number(s.trim()));
  if (raw.trim() === "" || counts.some((n) => !Number.isInteger(n) || n < 1))
    throw new Error(`BENCH_PODS=${JSON.stringify(raw)}: expected a comma-separated list of pod counts >= 1`);
  return [...new Set(counts)].sort((a, b) => a - b);
}

const RUNS = intEnv("BENCH_RUNS", 5, 1);
const POD_COUNTS = podCountsEnv();
const BATCH = intEnv("BENCH_BATCH", 2, 1);
const IDLE_MS = intEnv("BENCH_IDLE_MS", 5000, 0);
const ACCEL = process.env["BENCH_ACCEL"] ?? "auto";
if (!["auto", "kvm", "tcg"].includes(ACCEL))
  throw new Error(`BENCH_ACCEL=${ACCEL}: expected auto, kvm or tcg`);

const BOOT_MS = 300_000;
/** The warm phase's pool (its own socket: bench:ctr's pool or a test's may be running). */
const POOL_SOCKET = join(STATE_DIR, "bench-cri-pool.sock");
/** The phase that only an adoption marks (shim/sandbox/pool-provider.ts). */
const ADOPTED_PHASE = "pool-adopt";
/** Window over which the idle pods' CPU use is sampled. */
const CPU_WINDOW_MS = 3000;
const CLOCK_TICKS_PER_S = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
const MIB = 1024;
/** Refuse to start more pods when MemAvailable would drop below this after the next batch. */
const HOST_RESERVE_KIB = 2 * 1024 * 1024;

const mib = (kib: number) => (kib / MIB).toFixed(1);
const ms = (x: number) => x.toFixed(0);

/** The tskata handler's configuration: the accelerator, and [factory] on for the warm phase only. */
function writeConfig(path: string, factoryEnabled: boolean): void {
  writeFileSync(
    path,
    `[hypervisor]\naccel = "${ACCEL}"\n[factory]\nenabled = ${factoryEnabled}\npool_size = 1\nsocket_path = "${POOL_SOCKET}"\nacquire_timeout_ms = 5000\n`,
  );
}

function memAvailableKiB(): number {
  return Number(/^MemAvailable:\s+(\d+) kB/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0);
}

class PodBench {
  private readonly live = new Set<string>();
  private seq = 0;

  constructor(private readonly h: CriContainerd) {}

  private podConfig(name: string): SandboxInit {
    return kubeletPodConfig(name, this.h.scratch, "bench");
  }

  /** RunPodSandbox, CreateContainer + StartContainer of `sleep 1000`, until ContainerStatus RUNNING. */
  async startPod(
    handler: Handler,
    label: string = handler,
  ): Promise<{ podId: string; runPodMs: number; containerMs: number; totalMs: number }> {
    const name = `${label}-${++this.seq}`;
    const config = this.podConfig(name);
    const cri = this.h.cri.runtime;
    const t0 = performance.now();
    const { podSandboxId } = await cri.runPodSandbox(
      { config, runtimeHandler: handler },
      { timeoutMs: BOOT_MS },
    );
    this.live.add(podSandboxId);
    const t1 = performance.now();
    const { containerId } = await cri.createContainer(
      {
        podSandboxId,
        config: {
          metadata: { name: "sleeper" },
          image: { image: BUSYBOX_IMAGE },
          command: ["sleep", "1000"],
          logPath: "sleeper/0.log",
        } as ContainerInit,
        sandboxConfig: config,
      },
      { timeoutMs: BOOT_MS },
    );
    await cri.startContainer({ containerId }, { timeoutMs: BOOT_MS });
    for (;;) {
      const { status } = await cri.containerStatus({ containerId });
      if (status?.state === ContainerState.CONTAINER_RUNNING) break;
      if (status?.state === ContainerState.CONTAINER_EXITED)
        throw new Error(
          `pod ${name}: container exited (${status.exitCode}) instead of running: ${status.message}`,
        );
      await new Promise((r) => setTimeout(r, 10));
    }
    const t2 = performance.now();
    return { podId: podSandboxId, runPodMs: t1 - t0, containerMs: t2 - t1, totalMs: t2 - t0 };
  }

  async removePod(podId: string): Promise<void> {
    await this.h.cri.runtime.stopPodSandbox({ podSandboxId: podId }, { timeoutMs: 120_000 });
    await this.h.cri.runtime.removePodSandbox({ podSandboxId: podId }, { timeoutMs: 120_000 });
    this.live.delete(podId);
  }

  /**
   * The start-up timeline of pod `podId`'s sandbox task (timeline id = pod id), once the shim has
   * logged its summary (`timeline ID: container ID started`); empty if it never does.
   */
  async timeline(podId: string): Promise<TimelinePhase[]> {
    const summary = `timeline ${podId}: container ${podId} started`;
    for (let i = 0; i < 50 && !this.h.containerd.log().includes(summary); i++)
      await new Promise((r) => setTimeout(r, 100));
    return timelineFromLog(this.h.containerd.log(), podId);
  }

  get pods(): string[] {
    return [...this.live];
  }

  /** Removes every pod this bench started; keeps going past failures and reports them together. */
  async removeAll(): Promise<void> {
    const problems: string[] = [];
    for (const podId of this.pods) {
      await this.removePod(podId).catch((err: unknown) =>
        problems.push(`${podId}: ${(err as Error).message}`),
      );
    }
    if (problems.length > 0) throw new Error(`removing pods failed:\n${problems.join("\n")}`);
  }
}

const stats = (xs: number[]) =>
  `median ${ms(median(xs))} ms (min ${ms(Math.min(...xs))}, max ${ms(Math.max(...xs))})`;

interface StartupResult {
  runcMs: number[];
  coldMs: number[];
  coldTimelines: TimelinePhase[][];
}

async function startupRuns(bench: PodBench): Promise<StartupResult> {
  const totals: Record<Handler, number[]> = { runc: [], tskata: [] };
  const coldTimelines: TimelinePhase[][] = [];
  for (let i = 0; i < RUNS; i++) {
    for (const handler of ["runc", "tskata"] as const) {
      const r = await bench.startPod(handler);
      if (handler === "tskata") coldTimelines.push(await bench.timeline(r.podId));
      await bench.removePod(r.podId);
      totals[handler].push(r.totalMs);
      console.log(
        `run ${i + 1}/${RUNS} ${handler.padEnd(6)}: ${ms(r.totalMs)} ms (RunPodSandbox ${ms(r.runPodMs)}, Create+Start → RUNNING ${ms(r.containerMs)})`,
      );
    }
  }
  const ratio = median(totals.tskata) / median(totals.runc);
  console.log(`RunPodSandbox → first container running, ${RUNS} runs each, interleaved:`);
  console.log(`  runc   ${stats(totals.runc)}`);
  console.log(`  tskata ${stats(totals.tskata)}`);
  console.log(`  tskata/runc ${ratio.toFixed(1)}x (medians)`);
  return { runcMs: totals.runc, coldMs: totals.tskata, coldTimelines };
}

interface WarmResult {
  ms: number[];
  adopted: number;
  /** The adopted runs' timelines. */
  timelines: TimelinePhase[][];
  shape: string;
}

/**
 * "tskata warm": [factory] enabled and a pool of one idle VM; before each run the pool has
 * refilled, so every run can adopt. The pool (`pools.current`, for the cleanup on a signal) is
 * stopped and [factory] disabled again on every path.
 */
async function warmRuns(
  bench: PodBench,
  configPath: string,
  pools: { current?: BenchPool },
): Promise<WarmResult> {
  writeConfig(configPath, true);
  const pool = startBenchPool(configPath, POOL_SOCKET);
  pools.current = pool;
  try {
    const first = await pool.waitIdle();
    const result: WarmResult = {
      ms: [],
      adopted: 0,
      timelines: [],
      shape: `${first.shape?.memoryMib} MiB / ${first.shape?.vcpus} vCPU`,
    };
    for (let i = 0; i < RUNS; i++) {
      const idleAfterMs = performance.now();
      await pool.waitIdle();
      const refillWaitMs = performance.now() - idleAfterMs;
      const r = await bench.startPod("tskata", "warm");
      const timeline = await bench.timeline(r.podId);
      await bench.removePod(r.podId);
      const adopted = timeline.some((p) => p.phase === ADOPTED_PHASE);
      result.ms.push(r.totalMs);
      if (adopted) {
        result.adopted++;
        result.timelines.push(timeline);
      }
      console.log(
        `warm run ${i + 1}/${RUNS}: ${ms(r.totalMs)} ms (RunPodSandbox ${ms(r.runPodMs)}, Create+Start → RUNNING ${ms(r.containerMs)}), ${adopted ? "adopted a pool VM" : "NOT adopted (booted cold)"}; waited ${ms(refillWaitMs)} ms for the refill`,
      );
    }
    return result;
  } finally {
    await pool.stop();
    pools.current = undefined;
    writeConfig(configPath, false);
  }
}

interface MemoryAt {
  pods: number;
  pssPerPodKiB: number;
}

function sumBy(processes: readonly PodProcess[], role: PodProcessRole, key: "pssKiB" | "rssKiB"): number {
  return processes.filter((p) => p.role === role).reduce((s, p) => s + p[key], 0);
}

async function memoryRuns(
  bench: PodBench,
): Promise<{ measured: MemoryAt[]; accel: string; stoppedAt?: string }> {
  const measured: MemoryAt[] = [];
  let accel = "unknown";
  let perPodRssKiB = 1024 * 1024; // before the first measurement: assume 1 GiB per pod
  for (const target of POD_COUNTS) {
    while (bench.pods.length < target) {
      const n = Math.min(BATCH, target - bench.pods.length);
      const available = memAvailableKiB();
      if (available - n * perPodRssKiB < HOST_RESERVE_KIB) {
        return {
          measured,
          accel,
          stoppedAt: `host memory: ${bench.pods.length} pods running, MemAvailable ${mib(available)} MiB, next ${n} would need ~${mib(n * perPodRssKiB)} MiB`,
        };
      }
      const t0 = performance.now();
      // allSettled: a failed start must not leave the others booting while cleanup runs
      const started = await Promise.allSettled(Array.from({ length: n }, () => bench.startPod("tskata")));
      const failed = started.find((r) => r.status === "rejected");
      if (failed) throw (failed as PromiseRejectedResult).reason;
      console.log(`  started ${n} pod(s) in ${ms(performance.now() - t0)} ms, ${bench.pods.length} running`);
    }
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const all = bench.pods.flatMap((id) => podProcesses(STATE_DIR, id));
    accel = qemuAccel(all);
    const per = (role: PodProcessRole, key: "pssKiB" | "rssKiB") => sumBy(all, role, key) / target;
    const pss = all.reduce((s, p) => s + p.pssKiB, 0) / target;
    const rss = all.reduce((s, p) => s + p.rssKiB, 0) / target;
    perPodRssKiB = rss;
    const other = per("other", "pssKiB");
    const guestRam =
      all.filter((p) => p.role === "qemu").reduce((sum, p) => sum + memfdPssKiB(p.pid), 0) / target;
    const ticks0 = all.reduce((sum, p) => sum + cpuTicks(p.pid), 0);
    await new Promise((r) => setTimeout(r, CPU_WINDOW_MS));
    const ticks1 = all.reduce((sum, p) => sum + cpuTicks(p.pid), 0);
    const cpuPerPod = (ticks1 - ticks0) / CLOCK_TICKS_PER_S / (CPU_WINDOW_MS / 1000) / target;
    console.log(
      `${target} idle pod(s), ${all.length} processes: PSS per pod ${mib(pss)} MiB (qemu ${mib(per("qemu", "pssKiB"))}, shim ${mib(per("shim", "pssKiB"))}, virtiofsd ${mib(per("virtiofsd", "pssKiB"))}${other > 0 ? `, other ${mib(other)}` : ""}), RSS per pod ${mib(rss)} MiB (qemu ${mib(per("qemu", "rssKiB"))}, shim ${mib(per("shim", "rssKiB"))}, virtiofsd ${mib(per("virtiofsd", "rssKiB"))}); QEMU guest RAM (memfd) PSS ${mib(guestRam)} MiB per pod; idle CPU per pod ${(cpuPerPod * 1000).toFixed(0)}m; host MemAvailable ${mib(memAvailableKiB())} MiB`,
    );
    measured.push({ pods: target, pssPerPodKiB: pss });
  }
  return { measured, accel };
}

async function main(): Promise<number> {
  const configPath = join(tmpdir(), `tskata-bench-cri-${process.pid}.toml`);
  writeConfig(configPath, false);
  let h: CriContainerd | undefined;
  let bench: PodBench | undefined;
  const pools: { current?: BenchPool } = {};
  let cleaning: Promise<void> | undefined;
  const cleanup = () => {
    cleaning ??= (async () => {
      const problems: string[] = [];
      await bench?.removeAll().catch((err: unknown) => problems.push((err as Error).message));
      await pools.current?.stop().catch((err: unknown) => problems.push((err as Error).message));
      await h?.stop().catch((err: unknown) => problems.push((err as Error).message));
      if (existsSync(configPath)) rmSync(configPath);
      if (problems.length > 0) throw new Error(`cleanup: ${problems.join("\n")}`);
    })();
    return cleaning;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`bench:cri: ${signal}: removing pods, stopping the pool and containerd`);
    cleanup().then(
      () => process.exit(130),
      (err: unknown) => {
        console.error((err as Error).message);
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    h = await startCriContainerd({ tskataConfigPath: configPath, buildShim: true });
    bench = new PodBench(h);
    console.log(
      `bench:cri: ${RUNS} runs, pods ${POD_COUNTS.join("/")} (${BATCH} at a time, ${IDLE_MS} ms idle), configured accel ${ACCEL}`,
    );
    const startup = await startupRuns(bench);
    const warm = await warmRuns(bench, configPath, pools);
    const runc = median(startup.runcMs);
    const cold = median(startup.coldMs);
    const warmMedian = median(warm.ms);
    console.log(
      `RunPodSandbox → first container running, tskata warm (pool of 1 idle VM, ${warm.shape}), ${RUNS} runs, ${warm.adopted}/${RUNS} adopted:`,
    );
    console.log(`  tskata warm ${stats(warm.ms)}`);
    console.log(
      `  warm/runc ${(warmMedian / runc).toFixed(1)}x, cold/runc ${(cold / runc).toFixed(1)}x, warm/cold ${(warmMedian / cold).toFixed(2)} (medians)`,
    );
    for (const line of timelineTable(startup.coldTimelines, "tskata cold")) console.log(line);
    for (const line of timelineTable(warm.timelines, "tskata warm (adopted pool VM)")) console.log(line);
    const { measured, accel, stoppedAt } = await memoryRuns(bench);
    console.log(`accelerator used by QEMU: ${accel}`);
    if (stoppedAt) console.log(`stopped adding pods: ${stoppedAt}`);
    const figures = POD_COUNTS.map((n) => {
      const m = measured.find((x) => x.pods === n);
      return m ? (m.pssPerPodKiB / MIB).toFixed(0) : "n/a";
    });
    console.log(
      `bench:cri: warm/runc ${(warmMedian / runc).toFixed(1)}, cold/runc ${(cold / runc).toFixed(1)} (RunPodSandbox→running, medians; ${warm.adopted}/${RUNS} warm runs adopted), PSS per pod at ${POD_COUNTS.join("/")} pods: ${figures.join("/")} MiB`,
    );
    return 0;
  } finally {
    await cleanup();
  }
}

process.exitCode = await main();
