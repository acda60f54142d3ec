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
import { loadConfig } from "../config/load.js";
import { EventPublisher } from "../events/publisher.js";
import { openOutput } from "../io/fifo.js";
import { coldBootProvider } from "../sandbox/sandbox.js";
import { createTaskService } from "../service/task-service.js";
import { TaskManager } from "../task/task-manager.js";
import { bundleGroupId } from "./bundle-group.js";
import type { ShimFlags } from "./flags.js";

export const SHIM_VERSION = "tskata-shim 0.1.0";

function shimLogger(flags: ShimFlags): Logger {
  const level = flags.debug ? "debug" : "info";
  const base = { id: flags.id, namespace: flags.namespace };
  if (existsSync("log")) return pino({ level, base }, openOutput("log"));
  return pino({ level, base }, pino.destination(2));
}

export async function serveShim(flags: ShimFlags): Promise<void> {
  const log = shimLogger(flags);
  const sandboxId = bundleGroupId(process.cwd(), flags.id);
  const ttrpcAddress = process.env["TTRPC_ADDRESS"] ?? `${flags.address}.ttrpc`;
  const events = new EventPublisher({ address: ttrpcAddress, namespace: flags.namespace, log });
  const tasks = new TaskManager({
    namespace: flags.namespace,
    sandboxId,
    events,
    log,
    loadConfig,
    sandboxes: coldBootProvider,
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
      await events.close();
      log.debug("events flushed");
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
  await server.listen(flags.socket);
  log.info({ socket: flags.socket, sandboxId, pid: process.pid }, "shim serving");
}
