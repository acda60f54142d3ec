/**
 * A `tskata pool serve` for the benches' warm columns, started from the built CLI
 * (dist/cli/main.js) with a given configuration file: its status over the pool socket, a wait
 * for an idle VM (failing at once, with the daemon's last stderr, if the daemon has exited) and a
 * stop that is safe on every path (idempotent; resolves at once when the daemon is already gone).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { packageRoot } from "../../shim/config/paths.js";
import { connectPool } from "../../shim/pool/pool-client.js";

/** How much of the daemon's stderr is kept for error messages. */
const STDERR_TAIL_CHARS = 4000;

export type PoolStatus = Awaited<ReturnType<ReturnType<typeof connectPool>["api"]["status"]>>;

export interface BenchPool {
  readonly socketPath: string;
  readonly pid: number | undefined;
  status(): Promise<PoolStatus>;
  /** Resolves with the status once the pool holds an idle VM. */
  waitIdle(timeoutMs?: number): Promise<PoolStatus>;
  /** SIGTERM (the daemon stops its idle VMs) and waits for the exit; safe to call again. */
  stop(): Promise<void>;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

export function startBenchPool(configPath: string, socketPath: string): BenchPool {
  const child = spawn(
    process.execPath,
    [join(packageRoot() ?? ".", "dist/cli/main.js"), "pool", "serve", "--config", configPath],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderrTail = "";
  child.stderr?.setEncoding("utf8").on("data", (s: string) => {
    stderrTail = (stderrTail + s).slice(-STDERR_TAIL_CHARS);
  });
  const gone = new Promise<void>((resolve) => {
    if (exited(child)) resolve();
    child.once("exit", () => resolve());
    child.once("error", () => resolve());
  });
  const status = async (): Promise<PoolStatus> => {
    const client = connectPool(socketPath);
    try {
      return await client.api.status({}, { timeoutMs: 5000 });
    } finally {
      client.close();
    }
  };
  let stopping: Promise<void> | undefined;
  return {
    socketPath,
    pid: child.pid,
    status,
    async waitIdle(timeoutMs = 180_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (exited(child) || child.pid === undefined)
          throw new Error(
            `tskata pool serve exited (${child.exitCode ?? child.signalCode ?? "did not start"}): ${stderrTail.trim()}`,
          );
        const s = await status().catch(() => undefined);
        if (s?.vms.some((v) => v.state === "idle")) return s;
        if (Date.now() > deadline) throw new Error(`the pool did not get an idle VM within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    stop() {
      stopping ??= (async () => {
        if (!exited(child) && child.pid !== undefined) child.kill("SIGTERM");
        await gone;
      })();
      return stopping;
    },
  };
}
