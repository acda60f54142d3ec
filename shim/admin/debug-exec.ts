/**
 * DebugExec: a process in the guest's root namespaces for debugging (`tskata exec`), refused
 * unless the sandbox's configuration has [agent] debug_exec = true. The shim forwards to the
 * agent's DebugExec and process RPCs (empty container id); only exec ids it started are
 * forwarded, so the admin socket cannot reach container processes through these calls.
 */
import type { AgentApi } from "../agent-client/agent-client.js";
import type { StartedSandbox } from "../task/task-manager.js";
import { AdminError } from "./errors.js";

export interface DebugExecInput {
  args: string[];
  env: string[];
  terminal: boolean;
  stdin: boolean;
  rows: number;
  columns: number;
}

const DEFAULT_SHELL = ["/bin/sh"];
const MAX_READ_BYTES = 1 << 20;

export class DebugExecs {
  private seq = 0;
  /** exec id → the agent it was started on (a new VM does not know it). */
  private readonly started = new Map<string, AgentApi>();

  constructor(private readonly current: () => StartedSandbox | undefined) {}

  async start(input: DebugExecInput): Promise<{ execId: string; pid: number }> {
    const started = this.current();
    if (!started) throw new AdminError("ADMIN_NO_SANDBOX", "the sandbox is not running");
    if (!started.config.agent.debugExec)
      throw new AdminError(
        "ADMIN_DEBUG_EXEC_DISABLED",
        `debug exec is disabled for sandbox ${started.sandbox.id}: set [agent] debug_exec = true in its configuration (${started.config.source}) and restart the pod`,
      );
    const execId = `debug-${process.pid}-${++this.seq}`;
    const { pid } = await started.sandbox.agent.debugExec(
      {
        execId,
        args: input.args.length ? input.args : DEFAULT_SHELL,
        env: input.env,
        stdio: {
          terminal: input.terminal,
          stdin: input.stdin,
          ttyRows: input.rows,
          ttyColumns: input.columns,
        },
      },
      { timeoutMs: 30_000 },
    );
    this.started.set(execId, started.sandbox.agent);
    return { execId, pid };
  }

  private agentOf(execId: string): AgentApi {
    const agent = this.started.get(execId);
    if (!agent)
      throw new AdminError("ADMIN_EXEC_NOT_FOUND", `debug process ${JSON.stringify(execId)} not found`);
    return agent;
  }

  async write(execId: string, data: Uint8Array): Promise<number> {
    const r = await this.agentOf(execId).writeStdin({ containerId: "", execId, data }, { timeoutMs: 30_000 });
    return r.written;
  }

  async closeStdin(execId: string): Promise<void> {
    await this.agentOf(execId).closeStdin({ containerId: "", execId }, { timeoutMs: 10_000 });
  }

  async read(execId: string, stderr: boolean, maxBytes: number, signal?: AbortSignal) {
    const agent = this.agentOf(execId);
    const req = { containerId: "", execId, maxBytes: Math.min(maxBytes || MAX_READ_BYTES, MAX_READ_BYTES) };
    const opts = signal ? { signal } : {};
    return stderr ? agent.readStderr(req, opts) : agent.readStdout(req, opts);
  }

  async resize(execId: string, rows: number, columns: number): Promise<void> {
    if (rows < 1 || columns < 1 || rows > 0xffff || columns > 0xffff)
      throw new AdminError("ADMIN_INVALID", `terminal size ${columns}x${rows} is out of range`);
    await this.agentOf(execId).resizeTty({ containerId: "", execId, rows, columns }, { timeoutMs: 10_000 });
  }

  async signal(execId: string, signal: number): Promise<void> {
    if (!Number.isInteger(signal) || signal < 1 || signal > 64)
      throw new AdminError("ADMIN_INVALID", `signal ${signal} is out of range (1-64)`);
    await this.agentOf(execId).signalProcess({ containerId: "", execId, signal }, { timeoutMs: 10_000 });
  }

  async wait(execId: string, signal?: AbortSignal): Promise<number> {
    const r = await this.agentOf(execId).waitProcess({ containerId: "", execId }, signal ? { signal } : {});
    this.started.delete(execId);
    return r.exitStatus;
  }
}
