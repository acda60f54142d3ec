/**
 * tskata.agent.v1.Agent: the RPC edge of the agent. Wire messages are converted to domain
 * requests here and only here; domain errors become ttrpc codes (error-codes.ts). SetGuestTime
 * and DestroySandbox keep the boot path's hooks (sandbox-lifecycle.ts).
 */

import { readFileSync } from "node:fs";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type {
  Agent,
  Rootfs,
  StdioOptions,
  Storage,
} from "../../protocol/generated/tskata/agent/v1/agent_pb.js";
import { Code } from "../../protocol/ttrpc/codes.js";
import { TtrpcError } from "../../protocol/ttrpc/errors.js";
import type { ServiceImpl } from "../../protocol/ttrpc/service.js";
import { cgroupPids } from "../cgroups/cgroup-fs.js";
import { readCgroupStats } from "../cgroups/stats.js";
import type { ContainerManager, CreateRequest, StdioRequest } from "../container/container-manager.js";
import { ContainerError } from "../container/errors.js";
import type { StorageSpec } from "../container/sandbox.js";
import { DebugProcesses } from "../debug/debug-processes.js";
import { readGuestMemory } from "../debug/guest-memory.js";
import { onlineResources } from "../init/hotplug.js";
import { GuestNetwork } from "../network/guest-network.js";
import { toWireError } from "./error-codes.js";
import { createNetworkRpcs } from "./network-service.js";
import type { LifecycleHooks } from "./sandbox-lifecycle.js";

/** Default and ceiling of one ReadStdout/ReadStderr answer (ttrpc messages stop at 4 MiB). */
export const DEFAULT_READ_BYTES = 1 << 20;
export const MAX_READ_BYTES = 3 << 20;

function storage(s: Storage): StorageSpec {
  return {
    driver: s.driver,
    source: s.source,
    fstype: s.fstype,
    options: [...s.options],
    mountPoint: s.mountPoint,
  };
}

function stdioRequest(s: StdioOptions | undefined): StdioRequest {
  return {
    terminal: s?.terminal ?? false,
    stdin: s?.stdin ?? false,
    rows: s?.ttyRows ?? 0,
    columns: s?.ttyColumns ?? 0,
  };
}

function rootfsRequest(r: Rootfs | undefined): CreateRequest["rootfs"] {
  const readonly = r?.readonly ?? false;
  switch (r?.source.case) {
    case "sharedDir":
      return { kind: "shared", dir: r.source.value, readonly };
    case "block":
      return {
        kind: "block",
        device: r.source.value.device,
        fstype: r.source.value.fstype,
        options: [...r.source.value.options],
        readonly,
      };
    default:
      throw new ContainerError("ERR_SPEC_INVALID", "rootfs: shared_dir or block is required");
  }
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

function readSize(max: number): number {
  return max === 0 ? DEFAULT_READ_BYTES : Math.min(max, MAX_READ_BYTES);
}

export function createAgentService(
  manager: ContainerManager,
  lifecycle: LifecycleHooks,
  debug: DebugProcesses = new DebugProcesses(),
): ServiceImpl<typeof Agent> {
  const network = new GuestNetwork();
  // an empty container id names a debug process (DebugExec), addressed by its exec id alone
  const stdioOf = (containerId: string, execId: string) =>
    containerId === "" ? debug.stdio(execId) : manager.stdio(containerId, execId);
  const impl: ServiceImpl<typeof Agent> = {
    async createSandbox(req) {
      await manager.createSandbox({
        id: req.sandboxId,
        hostname: req.hostname,
        dnsServers: [...req.dnsServers],
        dnsSearch: [...req.dnsSearch],
        storages: req.storages.map(storage),
        sysctls: { ...req.sysctls },
      });
      if (req.hostTime)
        lifecycle.setClock(req.hostTime.seconds * 1_000_000_000n + BigInt(req.hostTime.nanos));
      return {};
    },
    async destroySandbox(req) {
      network.stop();
      debug.killAll();
      await manager.destroyAll();
      lifecycle.destroy(req.poweroff);
      return {};
    },
    setGuestTime(req) {
      if (!req.time) throw new TtrpcError(Code.INVALID_ARGUMENT, "SetGuestTime: time is required");
      lifecycle.setClock(req.time.seconds * 1_000_000_000n + BigInt(req.time.nanos));
      return {};
    },
    async createContainer(req) {
      const pid = await manager.create({
        id: req.containerId,
        specJson: req.ociSpecJson,
        rootfs: rootfsRequest(req.rootfs),
        storages: req.storages.map(storage),
        stdio: stdioRequest(req.stdio),
      });
      return { pid };
    },
    async startContainer(req) {
      return { pid: await manager.start(req.containerId) };
    },
    async removeContainer(req) {
      await manager.remove(req.containerId, req.timeoutSeconds);
      return {};
    },
    async pauseContainer(req) {
      await manager.pause(req.containerId);
      return {};
    },
    async resumeContainer(req) {
      await manager.resume(req.containerId);
      return {};
    },
    async updateContainer(req) {
      await manager.update(req.containerId, req.resourcesJson);
      return {};
    },
    statsContainer(req) {
      const s = readCgroupStats(manager.get(req.containerId).cgroupDir);
      return {
        memory: {
          usage: s.memory.usage,
          limit: s.memory.limit,
          swapUsage: s.memory.swapUsage,
          swapLimit: s.memory.swapLimit,
          stat: s.memory.stat,
          eventsLow: s.memory.events.low,
          eventsHigh: s.memory.events.high,
          eventsMax: s.memory.events.max,
          eventsOom: s.memory.events.oom,
          eventsOomKill: s.memory.events.oomKill,
        },
        cpu: s.cpu,
        pids: s.pids,
        io: s.io,
      };
    },
    listProcesses(req) {
      const pids = cgroupPids(manager.get(req.containerId).cgroupDir);
      return { processes: pids.map((pid) => ({ pid, command: comm(pid) })) };
    },
    async execProcess(req) {
      return {
        pid: await manager.exec(req.containerId, req.execId, req.processJson, stdioRequest(req.stdio)),
      };
    },
    signalProcess(req) {
      if (req.containerId === "") debug.signal(req.execId, req.signal);
      else manager.signal(req.containerId, req.execId, req.signal, req.all);
      return {};
    },
    async waitProcess(req) {
      const exit =
        req.containerId === ""
          ? await debug.wait(req.execId)
          : await manager.wait(req.containerId, req.execId);
      return { exitStatus: exit.status, exitedAt: timestampFromDate(exit.exitedAt) };
    },
    async writeStdin(req) {
      return { written: await stdioOf(req.containerId, req.execId).write(req.data) };
    },
    async readStdout(req, ctx) {
      return stdioOf(req.containerId, req.execId).stdout.read(readSize(req.maxBytes), ctx.signal);
    },
    async readStderr(req, ctx) {
      return stdioOf(req.containerId, req.execId).stderr.read(readSize(req.maxBytes), ctx.signal);
    },
    closeStdin(req) {
      stdioOf(req.containerId, req.execId).closeStdin();
      return {};
    },
    resizeTty(req) {
      const stdio = stdioOf(req.containerId, req.execId);
      if (!stdio.terminal)
        throw new ContainerError(
          "ERR_STDIO_UNAVAILABLE",
          `process ${req.execId || req.containerId} has no terminal`,
        );
      stdio.resize(req.rows, req.columns);
      return {};
    },
    async getOOMEvent(_req, ctx) {
      const id = await manager.oom.next(ctx.signal);
      if (id === undefined) throw new TtrpcError(Code.CANCELLED, "GetOOMEvent: cancelled");
      return { containerId: id };
    },
    ...createNetworkRpcs(network),
    async debugExec(req) {
      const pid = await debug.start({
        execId: req.execId,
        args: [...req.args],
        env: [...req.env],
        cwd: req.cwd,
        terminal: req.stdio?.terminal ?? false,
        stdin: req.stdio?.stdin ?? false,
        rows: req.stdio?.ttyRows ?? 0,
        columns: req.stdio?.ttyColumns ?? 0,
      });
      return { pid };
    },
    guestMemory() {
      const m = readGuestMemory();
      return {
        memTotalKib: BigInt(m.totalKib),
        memFreeKib: BigInt(m.freeKib),
        memAvailableKib: BigInt(m.availableKib),
      };
    },
    async onlineResources(req) {
      const r = await onlineResources({
        minVcpus: req.minVcpus,
        minMemoryMib: Number(req.minMemoryMib),
        timeoutMs: req.timeoutMs,
      });
      return {
        onlineVcpus: r.onlineVcpus,
        memTotalKib: BigInt(r.memTotalKib),
        presentMemoryMib: BigInt(r.presentMemoryMib),
        onlinedVcpus: r.onlinedVcpus,
        onlinedMemoryBlocks: r.onlinedMemoryBlocks,
      };
    },
  };
  // every method converts domain errors at this one edge
  for (const [name, fn] of Object.entries(impl) as [string, (...a: unknown[]) => unknown][]) {
    (impl as Record<string, unknown>)[name] = async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw toWireError(err);
      }
    };
  }
  return impl;
}
