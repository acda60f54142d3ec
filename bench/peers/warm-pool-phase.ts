/**
 * bench:ctr's warm column: the same `ctr run --rm IMAGE ID true` with `[factory] enabled` and a
 * `tskata pool serve` keeping one idle VM; each run waits until the pool has refilled, so every
 * run can adopt. The shims read the configuration from TSKATA_CONF_FILE, which BenchConfig
 * points at a copy of the configuration in use with only [factory] changed.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "smol-toml";
import type { TskataContainerd } from "../../cli/demo/tskata-containerd.js";
import { findConfigFile } from "../../shim/config/load.js";
import { startBenchPool } from "./bench-pool.js";

const POOL_SOCKET = "/run/tskata/bench-pool.sock";

export class BenchConfig {
  readonly path: string;
  private readonly base: Record<string, unknown>;

  constructor(work: string) {
    const file = findConfigFile();
    this.base = file ? (parse(readFileSync(file, "utf8")) as Record<string, unknown>) : {};
    this.path = join(work, "configuration.toml");
    this.setFactory(false);
    process.env["TSKATA_CONF_FILE"] = this.path;
  }

  /** `refillDelayMs` undefined: the configuration's own factory.refill_delay_ms. */
  setFactory(enabled: boolean, refillDelayMs?: number): void {
    const factory = {
      ...((this.base["factory"] as object) ?? {}),
      enabled,
      pool_size: 1,
      socket_path: POOL_SOCKET,
      ...(refillDelayMs === undefined ? {} : { refill_delay_ms: refillDelayMs }),
    };
    writeFileSync(this.path, stringify({ ...this.base, factory }));
  }
}

export interface WarmResult {
  ms: number[];
  adopted: number;
  poolSize: number;
  shape: string;
  daemonPssKiB: number;
  idleVmPssKiB: number;
}

/** Each run's task id is `${idPrefix}${i}`; the pool refills `refillDelayMs` after a hand-out. */
export async function warmRuns(
  ctrd: TskataContainerd,
  config: BenchConfig,
  runs: number,
  progress: (i: number, ms: number) => void,
  variant: { idPrefix: string; refillDelayMs?: number } = { idPrefix: "tskwarm" },
): Promise<WarmResult> {
  config.setFactory(true, variant.refillDelayMs);
  const pool = startBenchPool(config.path, POOL_SOCKET);
  try {
    const result: WarmResult = {
      ms: [],
      adopted: 0,
      poolSize: 0,
      shape: "",
      daemonPssKiB: 0,
      idleVmPssKiB: 0,
    };
    const first = await pool.waitIdle();
    // let the idle VM settle (free page reporting) before measuring it
    await new Promise((r) => setTimeout(r, 3000));
    const settled = await pool.status();
    result.poolSize = settled.poolSize;
    result.shape = `${settled.shape?.memoryMib} MiB / ${settled.shape?.vcpus} vCPU`;
    result.daemonPssKiB = Number(settled.daemonPssKib);
    result.idleVmPssKiB = Number(
      settled.vms.find((v) => v.state === "idle")?.pssKib ?? first.vms[0]?.pssKib ?? 0,
    );
    for (let i = 0; i < runs; i++) {
      await pool.waitIdle();
      const id = `${variant.idPrefix}${i}`;
      const t0 = performance.now();
      const r = await ctrd.exec(
        ["run", "--rm", "--runtime", "io.containerd.tskata.v2", "localhost/busybox:latest", id, "true"],
        {
          timeoutMs: 300_000,
        },
      );
      const ms = performance.now() - t0;
      if (r.code !== 0) throw new Error(`ctr run ${id}: exit ${r.code}: ${r.stderr}`);
      result.ms.push(ms);
      if (adoptedIn(ctrd.log(), id)) result.adopted++;
      progress(i, ms);
    }
    return result;
  } finally {
    await pool.stop();
    config.setFactory(false);
  }
}

/** Whether the shim of task `id` logged an adoption (containerd's log carries the shim's lines). */
function adoptedIn(log: string, id: string): boolean {
  return log.split("\n").some((l) => l.includes("adopted from the warm pool") && l.includes(id));
}
