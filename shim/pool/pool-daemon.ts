/**
 * `tskata pool serve`: the watchdog first (the tie that stops idle VMs if this process dies),
 * then VMs left tied to a previous pool on this socket are reaped, the API is served and the pool
 * fills. SIGTERM/SIGINT stop the idle VMs and leave adopted ones alone.
 */
import type { Logger } from "pino";
import type { TskataConfig } from "../config/types.js";
import { servePoolApi } from "./pool-server.js";
import { reapTiedVms } from "./reap.js";
import { TieRegistry, tieRegistryPath } from "./tie-registry.js";
import { WarmPool } from "./warm-pool.js";
import { PoolWatchdog } from "./watchdog.js";

export interface PoolDaemon {
  pool: WarmPool;
  /** Stops the idle VMs and the API; resolves when done. */
  stop(): Promise<void>;
}

export async function startPoolDaemon(config: TskataConfig, log: Logger): Promise<PoolDaemon> {
  const socketPath = config.factory.socketPath;
  const registryPath = tieRegistryPath(socketPath);
  const stale = await reapTiedVms(registryPath, config.runtime.stateDir);
  for (const vm of stale.vms)
    log.warn({ vm: vm.id, outcome: vm.outcome }, "reaped a VM a previous pool left");
  const registry = new TieRegistry(registryPath);
  const pool = new WarmPool({ config, registry, log });
  const server = await servePoolApi(pool, socketPath);
  const watchdog = new PoolWatchdog(registryPath, config.runtime.stateDir, log);
  watchdog.start();
  pool.start();
  log.info(
    {
      socket: socketPath,
      poolSize: pool.size,
      shape: pool.shape,
      identity: pool.identity,
      watchdog: watchdog.pid,
    },
    "pool serving",
  );
  let stopping: Promise<void> | undefined;
  return {
    pool,
    stop: () => {
      stopping ??= (async () => {
        await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
        await pool.shutdown();
        watchdog.stop();
        log.info("pool stopped");
      })();
      return stopping;
    },
  };
}
