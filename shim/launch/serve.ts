/**
 * The shim daemon: logs into the bundle's `log` FIFO, serves containerd.task.v2.Task (and v3)
 * on the group's socket, publishes events to $TTRPC_ADDRESS, and exits when asked to shut down
 * with nothing left to serve.
 */
import { existsSync } from "node:fs";
import pino, { type Logger } from "pino";
import { Task } from "../../protocol/generated/containerd/task/v2/shim_pb.js";
import { Server } from "../../protocol/ttrpc/server.js";
import { registerService } from "../../protocol/ttrpc/service.js";
import { AdminEndpoint } from "../admin/admin-endpoint.js";
import { agentRpcLatency } from "../agent-client/rpc-latency.js";
import { loadConfig } from "../config/load.js";
import { EventPublisher } from "../events/publisher.js";
import { openOutput } from "../io/fifo.js";
import { PoolProvider } from "../sandbox/pool-provider.js";
import { createTaskService } from "../service/task-service.js";
import { TaskManager } from "../task/task-manager.js";
import { epochNowMs } from "../timeline/timeline.js";
import { bundleGroupId } from "./bundle-group.js";
import type { EarlyListener } from "./early-listener.js";
import type { ShimFlags } from "./flags.js";

export const SHIM_VERSION = "tskata-shim 0.1.0";

export function shimLogger(flags: ShimFlags, sandboxId: string): Logger {
  const level = flags.debug ? "debug" : "info";
  const base = { id: flags.id, namespace: flags.namespace, sandbox: sandboxId };
  if (existsSync("log")) {
    const out = openOutput("log");
    // containerd stops reading the log FIFO once the shim's connection closes, while a shim that
    // is shutting down still logs its teardown: EPIPE must not end it before the sandbox is gone.
    out.on("error", () => out.destroy());
    return pino({ level, base }, out);
  }
  return pino({ level, base }, pino.destination(2));
}

/** `early`: the socket already listening (main.ts opens it before loading this module). */
export async function serveShim(flags: ShimFlags, early?: EarlyListener): Promise<void> {
  const sandboxId = bundleGroupId(process.cwd(), flags.id);
  const log = shimLogger(flags, sandboxId);
  // The daemon's stderr is /dev/null: what would end it silently is said in the shim log. An
  // exception nobody caught still ends it (its state is unknown); a promise rejected with nobody
  // waiting (a call cut by a dying VM) is logged and does not take every pod task down with it.
  process.on("uncaughtException", (err) => {
    log.fatal({ err }, "shim crashed: uncaught exception");
    setTimeout(() => process.exit(1), 100);
  });
  process.on("unhandledRejection", (err) => log.error({ err }, "a rejected promise nobody waited for"));
  // debug: every agent call with its duration (the same recorder feeds the admin Metrics)
  agentRpcLatency.tracer = (call) =>
    log.debug(
      { rpc: `${call.service}/${call.method}`, ms: Math.round(call.durationMs * 10) / 10, err: call.error },
      "agent call",
    );
  const ttrpcAddress = process.env["TTRPC_ADDRESS"] ?? `${flags.address}.ttrpc`;
  const events = new EventPublisher({ address: ttrpcAddress, namespace: flags.namespace, log });
  // start command → serving: the first container's timeline starts there (shim-spawn)
  const commandAtMs = Number(process.env["TSKATA_SHIM_START_MS"]);
  const shimStart = Number.isFinite(commandAtMs) ? { commandAtMs, servingAtMs: Number.NaN } : undefined;
  // the per-sandbox admin socket (tskata list/inspect/exec/metrics), served while a VM runs
  const admin = new AdminEndpoint({
    sandboxId,
    namespace: flags.namespace,
    containers: () => tasks.containerList(),
    log: log.child({ component: "admin" }),
  });
  const tasks = new TaskManager({
    ...(shimStart ? { shimStart } : {}),
    namespace: flags.namespace,
    sandboxId,
    events,
    log,
    loadConfig,
    // adopts a warm pool VM when [factory] enabled, else (and whenever that fails) boots cold
    sandboxes: new PoolProvider(),
    onSandboxStarted: (started) => admin.sandboxStarted(started),
  });
  const server = new Server({
    onCallError: (service, method, err) =>
      log.debug({ service, method, code: err.code, msg: err.message }, "call failed"),
  });
  let exiting = false;
  const exit = async (now: boolean) => {
    if (exiting) return;
    exiting = true;
    log.info({ now }, "shim shutting down");
    try {
      await tasks.destroy();
      log.debug("tasks destroyed");
      await admin.close();
      await events.close();
      log.debug("events flushed");
      await early?.close();
      await server.shutdown(now ? 0 : 500);
      log.debug("server closed");
    } finally {
      process.exit(0);
    }
  };
  const impl = createTaskService(tasks, {
    version: SHIM_VERSION,
    shutdown: (now) => setImmediate(() => void exit(now)),
  });
  registerService(server, Task, impl);
  registerService(server, Task, impl, { name: "containerd.task.v3.Task" });
  process.on("SIGTERM", () => void exit(true));
  process.on("SIGINT", () => void exit(true));
  if (early) early.handTo((socket) => server.serveStream(socket));
  else await server.listen(flags.socket);
  if (shimStart) shimStart.servingAtMs = epochNowMs();
  log.info({ socket: flags.socket, sandboxId, pid: process.pid }, "shim serving");
}
