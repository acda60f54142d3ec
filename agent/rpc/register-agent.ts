/** Builds the container machinery (reaper, crun, manager) and serves tskata.agent.v1.Agent. */
import { Agent } from "../../protocol/generated/tskata/agent/v1/agent_pb.js";
import type { Server } from "../../protocol/ttrpc/server.js";
import { registerService } from "../../protocol/ttrpc/service.js";
import { ContainerManager } from "../container/container-manager.js";
import { Crun } from "../container/crun.js";
import type { Logger } from "../logger.js";
import { Reaper } from "../process/reaper.js";
import { createAgentService } from "./agent-service.js";
import type { LifecycleHooks } from "./sandbox-lifecycle.js";

export interface AgentServiceOptions {
  sharedDir: string;
  noInit: boolean;
  log: Logger;
}

export function registerAgent(
  server: Server,
  options: AgentServiceOptions,
  lifecycle: LifecycleHooks,
): ContainerManager {
  const reaper = new Reaper({
    onOrphanReaped: (pid, t) => options.log.debug({ pid, t }, "reaped orphan"),
  });
  const manager = new ContainerManager({
    crun: new Crun(),
    reaper,
    sharedDir: options.sharedDir,
    noInit: options.noInit,
  });
  registerService(server, Agent, createAgentService(manager, lifecycle));
  return manager;
}
