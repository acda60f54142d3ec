/**
 * An agent API served in-process over a real ttrpc connection (the unix-socket pair of
 * ttrpc-pair.ts), with containers that live only in memory: CreateContainer answers a pid,
 * SignalProcess with SIGKILL/SIGTERM ends the process, WaitProcess answers at that exit (at once,
 * status 0, for a DebugExec process), GuestMemory answers fixed figures, stdio
 * is at EOF at once. Every call is recorded, so tests see exactly what the host asked.
 */
import { create } from "@bufbuild/protobuf";
import { Agent } from "../../protocol/generated/tskata/agent/v1/agent_pb.js";
import { Health } from "../../protocol/generated/tskata/agent/v1/health_pb.js";
import { Code } from "../../protocol/ttrpc/codes.js";
import { TtrpcError } from "../../protocol/ttrpc/errors.js";
import { registerService, type ServiceImpl } from "../../protocol/ttrpc/service.js";
import { type AgentApi, AgentClient } from "../../shim/agent-client/agent-client.js";
import { type ServerFixture, startServer } from "./ttrpc-pair.js";

export interface FakeProcess {
  pid: number;
  exit: Promise<number>;
  end(status: number): void;
}

export interface FakeContainer {
  id: string;
  spec: Record<string, unknown>;
  init: FakeProcess;
  started: boolean;
}

export interface FakeAgent {
  agent: AgentApi;
  client: AgentClient;
  calls: { method: string; request: unknown }[];
  containers: Map<string, FakeContainer>;
  close(): Promise<void>;
}

function fakeProcess(pid: number): FakeProcess {
  let end!: (status: number) => void;
  const exit = new Promise<number>((resolve) => {
    end = resolve;
  });
  return { pid, exit, end };
}

export async function startFakeAgent(): Promise<FakeAgent> {
  let nextPid = 100;
  const calls: FakeAgent["calls"] = [];
  const containers = new Map<string, FakeContainer>();
  const known = (id: string) => {
    const c = containers.get(id);
    if (!c) throw new TtrpcError(Code.NOT_FOUND, `container ${id} not found`);
    return c;
  };
  const impl: Partial<ServiceImpl<typeof Agent>> = {
    createSandbox: () => ({}),
    destroySandbox: () => ({}),
    createContainer(req) {
      const spec = JSON.parse(new TextDecoder().decode(req.ociSpecJson)) as Record<string, unknown>;
      const c = { id: req.containerId, spec, init: fakeProcess(nextPid++), started: false };
      containers.set(req.containerId, c);
      return { pid: c.init.pid };
    },
    startContainer(req) {
      const c = known(req.containerId);
      c.started = true;
      return { pid: c.init.pid };
    },
    removeContainer(req) {
      containers.delete(req.containerId);
      return {};
    },
    signalProcess(req) {
      const c = known(req.containerId);
      if (req.signal === 9 || req.signal === 15) c.init.end(128 + req.signal);
      return {};
    },
    async waitProcess(req) {
      // a debug process (DebugExec) exits at once with status 0
      if (req.containerId === "")
        return { exitStatus: 0, exitedAt: { seconds: BigInt(Math.floor(Date.now() / 1000)) } };
      const status = await known(req.containerId).init.exit;
      return { exitStatus: status, exitedAt: { seconds: BigInt(Math.floor(Date.now() / 1000)) } };
    },
    readStdout: () => ({ eof: true }),
    readStderr: () => ({ eof: true }),
    closeStdin: () => ({}),
    debugExec: () => ({ pid: nextPid++ }),
    guestMemory: () => ({ memTotalKib: 1_000_000n, memFreeKib: 600_000n, memAvailableKib: 800_000n }),
  };
  const recorded = new Proxy(impl, {
    get(target, name: string) {
      const fn = (target as Record<string, (req: unknown, ctx: unknown) => unknown>)[name];
      return (req: unknown, ctx: unknown) => {
        calls.push({ method: name, request: req });
        if (!fn) throw new TtrpcError(Code.UNIMPLEMENTED, `fake agent: ${name} is not implemented`);
        return fn(req, ctx);
      };
    },
  }) as ServiceImpl<typeof Agent>;
  const fixture: ServerFixture = await startServer();
  registerService(fixture.server, Agent, recorded);
  registerService(fixture.server, Health, {
    check: () => ({ status: 1 }),
    version: () => create(Health.method.version.output, {}),
  });
  const client = new AgentClient(await fixture.rawConnect());
  return {
    agent: client.agent,
    client,
    calls,
    containers,
    async close() {
      client.close();
      await fixture.close();
    },
  };
}
