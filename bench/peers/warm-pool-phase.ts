/**
 * bench:ctr's warm column: the same `ctr run --rm IMAGE ID true` with `[factory] enabled` and a
 * `tskata pool serve` keeping one idle VM; each run waits until the pool has refilled, so every
 * run can adopt. The shims read the configuration from TSKATA_CONF_FILE, which BenchConfig
 * points at a copy of the configuration in use with only [factory] changed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "smol-toml";
import type { TskataContainerd } from "../../cli/demo/tskata-containerd.js";
import { findConfigFile } from "../../shim/config/load.js";
import { packageRoot } from "../../shim/config/paths.js";
import { connectPool } from "../../shim/pool/pool-client.js";

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

  setFactory(enabled: boolean): void {
    const factory = {
      ...((this.base["factory"] as object) ?? {}),
      enabled,
      pool_size: 1,
      socket_path: POOL_SOCKET,
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

async function poolStatus() {
  const client = connectPool(POOL_SOCKET);
  try {
    return await client.api.status({}, { timeoutMs: 5000 });
  } finally {
    client.close();
  }
}

async function waitIdle(timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await poolStatus().catch(() => undefined);
    if (s?.vms.some((v) => v.state === "idle")) return s;
    if (Date.now() > deadline) throw new Error("the pool did not get an idle VM in time");
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function warmRuns(
  ctrd: TskataContainerd,
  config: BenchConfig,
  runs: number,
  progress: (i: number, ms: number) => void,
): Promise<WarmResult> {
  config.setFactory(true);
  const pool: ChildProcess = spawn(
    process.execPath,
    [join(packageRoot() ?? ".", "dist/cli/main.js"), "pool", "serve", "--config", config.path],
    { stdio: ["ignore", "ignore", "ignore"] },
  );
  try {
    const result: WarmResult = {
      ms: [],
      adopted: 0,
      poolSize: 0,
      shape: "",
      daemonPssKiB: 0,
      idleVmPssKiB: 0,
    };
    const first = await waitIdle();
    // let the idle VM settle (free page reporting) before measuring it
    await new Promise((r) => setTimeout(r, 3000));
    const settled = await poolStatus();
    result.poolSize = settled.poolSize;
    result.shape = `${settled.shape?.memoryMib} MiB / ${settled.shape?.vcpus} vCPU`;
    result.daemonPssKiB = Number(settled.daemonPssKib);
    result.idleVmPssKiB = Number(
      settled.vms.find((v) => v.state === "idle")?.pssKib ?? first.vms[0]?.pssKib ?? 0,
    );
    for (let i = 0; i < runs; i++) {
      await waitIdle();
      const id = `tskwarm${i}`;
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
    const gone = new Promise((r) => pool.once("exit", r));
    pool.kill("SIGTERM");
    await gone;
    config.setFactory(false);
  }
}

/** Whether the shim of task `id` logged an adoption (containerd's log carries the shim's lines). */
function adoptedIn(log: string, id: string): boolean {
  return log.split("\n").some((l) => l.includes("adopted from the warm pool") && l.includes(id));
}
