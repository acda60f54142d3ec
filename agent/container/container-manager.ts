/**
 * Every container of the sandbox and their lifecycle: create (bundle + crun create), start, exec,
 * signals, pause/resume, update, remove. Domain types in, domain errors out; the wire is
 * agent/rpc's business.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { kill } from "../../native/process.js";
import { cgroupPids, prepareCgroupParent } from "../cgroups/cgroup-fs.js";
import { OomWatcher } from "../cgroups/oom-watcher.js";
import { isValidSignal } from "../process/exit-status.js";
import type { Reaper } from "../process/reaper.js";
import { type ExitInfo, SupervisedProcess } from "../process/supervised-process.js";
import { resolveSharedRootfs } from "../spec/rootfs-path.js";
import type { OciProcess } from "../spec/types.js";
import { parseProcess, parseSpec } from "../spec/validate.js";
import { createPipeStdio } from "../stdio/pipe-stdio.js";
import type { ProcessStdio } from "../stdio/process-stdio.js";
import { createTtyStdio } from "../stdio/tty-stdio.js";
import { type Bundle, prepareBundle, type RootfsSource, removeBundle } from "./bundle.js";
import { Container } from "./container.js";
import type { Crun } from "./crun.js";
import { ContainerError } from "./errors.js";
import { grantCapabilities } from "./privileged.js";
import {
  createSandbox,
  destroySandbox,
  type SandboxSpec,
  type SandboxState,
  type StorageSpec,
} from "./sandbox.js";

/** Console sockets crun hands a terminal's master through (short, fixed-length paths). */
const CONSOLE_DIR = "/run/tskata/console";

export interface StdioRequest {
  terminal: boolean;
  stdin: boolean;
  rows: number;
  columns: number;
}

export interface CreateRequest {
  id: string;
  specJson: Uint8Array;
  rootfs:
    | { kind: "shared"; dir: string; readonly: boolean }
    | (Extract<RootfsSource, { kind: "block" }> & { readonly: boolean });
  storages: StorageSpec[];
  stdio: StdioRequest;
}

export interface ManagerOptions {
  crun: Crun;
  reaper: Reaper;
  /** Guest path of the shared filesystem (rootfs.shared_dir is relative to it). */
  sharedDir: string;
  noInit?: boolean;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** The wire's stdio options completed from the spec's process (terminal, consoleSize). */
function stdioFor(req: StdioRequest, proc: OciProcess): StdioRequest {
  const size = proc.consoleSize;
  return {
    terminal: req.terminal || proc.terminal === true,
    stdin: req.stdin,
    rows: req.rows || size?.height || 0,
    columns: req.columns || size?.width || 0,
  };
}

function checkId(what: string, id: string): void {
  if (!ID.test(id))
    throw new ContainerError("ERR_SPEC_INVALID", `${what} "${id}" is not a valid id (${ID.source})`);
}

export class ContainerManager {
  private readonly containers = new Map<string, Container>();
  private readonly reserved = new Set<string>();
  private sandbox: SandboxState = { kind: "absent" };
  readonly oom = new OomWatcher();
  private cgroupReady = false;
  private consoleSeq = 0;

  constructor(private readonly o: ManagerOptions) {}

  async createSandbox(spec: SandboxSpec): Promise<void> {
    if (this.sandbox.kind === "ready")
      throw new ContainerError("ERR_SANDBOX_EXISTS", `sandbox ${this.sandbox.id} already exists`);
    this.o.reaper.start();
    this.sandbox = await createSandbox(spec, this.o.noInit === true);
  }

  get(id: string): Container {
    const c = this.containers.get(id);
    if (!c) throw new ContainerError("ERR_CONTAINER_NOT_FOUND", `container ${id} not found`);
    return c;
  }

  ids(): string[] {
    return [...this.containers.keys()];
  }

  async create(req: CreateRequest): Promise<number> {
    checkId("container id", req.id);
    if (this.containers.has(req.id) || this.reserved.has(req.id))
      throw new ContainerError("ERR_CONTAINER_EXISTS", `container ${req.id} already exists`);
    if (this.sandbox.kind !== "ready")
      throw new ContainerError("ERR_SANDBOX_NOT_CREATED", "CreateSandbox must come before CreateContainer");
    const spec = parseSpec(req.specJson);
    const rootfs: RootfsSource =
      req.rootfs.kind === "shared"
        ? { kind: "shared", path: resolveSharedRootfs(this.o.sharedDir, req.rootfs.dir) }
        : req.rootfs;
    if (!this.cgroupReady) {
      try {
        prepareCgroupParent();
      } catch (err) {
        throw new ContainerError(
          "ERR_CGROUP",
          `cannot prepare /sys/fs/cgroup/tskata: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      this.cgroupReady = true;
    }
    this.reserved.add(req.id);
    let bundle: Bundle | undefined;
    try {
      const stdio = stdioFor(req.stdio, spec.process);
      bundle = prepareBundle({
        id: req.id,
        spec,
        rootfs,
        readonly: req.rootfs.readonly,
        terminal: stdio.terminal,
        storages: req.storages,
        netns: this.sandbox.netns,
      });
      const b = bundle;
      const { pid, process } = await this.launch(req.id, "", b, stdio, (s, pidFile) => [
        "create",
        `--bundle=${b.dir}`,
        `--pid-file=${pidFile}`,
        ...(s.consoleSocket ? [`--console-socket=${s.consoleSocket}`] : []),
        req.id,
      ]);
      const container = new Container(req.id, b, process);
      this.containers.set(req.id, container);
      this.oom.track(req.id, container.cgroupDir);
      return pid;
    } catch (err) {
      if (bundle) {
        await this.o.crun
          .run(["delete", "--force", req.id], { logFile: join(bundle.dir, "delete.log") })
          .catch(() => "");
        removeBundle(bundle);
      }
      throw err;
    } finally {
      this.reserved.delete(req.id);
    }
  }

  /** Runs a crun call that creates a process, then watches the pid it wrote. */
  private async launch(
    id: string,
    execId: string,
    bundle: Bundle,
    stdioReq: StdioRequest,
    args: (stdio: ProcessStdio, pidFile: string) => string[],
  ): Promise<{ pid: number; process: SupervisedProcess }> {
    const tag = execId === "" ? "init" : `exec-${execId}`;
    const pidFile = join(bundle.dir, `${tag}.pid`);
    // A unix socket path is limited to 108 bytes: the console socket's must not grow with the
    // container and exec ids (CRI's are 64 characters each), so it is a sequence number.
    const consolePath = stdioReq.terminal ? join(CONSOLE_DIR, `${++this.consoleSeq}.sock`) : undefined;
    if (consolePath) mkdirSync(CONSOLE_DIR, { recursive: true });
    const stdio = consolePath
      ? createTtyStdio({ socketPath: consolePath, rows: stdioReq.rows, columns: stdioReq.columns })
      : createPipeStdio({ stdin: stdioReq.stdin });
    const release = this.o.reaper.hold();
    try {
      await this.o.crun.run(args(stdio, pidFile), {
        stdio: stdio.child,
        onSpawn: () => stdio.afterSpawn(),
        logFile: join(bundle.dir, `${tag}.log`),
      });
      await stdio.ready();
      const pid = Number(readFileSync(pidFile, "utf8").trim());
      const exit = this.o.reaper.watch(pid);
      release();
      const process = new SupervisedProcess(execId, pid, stdio, exit, (p) => this.onExit(id, p));
      return { pid, process };
    } catch (err) {
      release();
      stdio.destroy();
      throw err;
    } finally {
      if (consolePath) rmSync(consolePath, { force: true });
    }
  }

  private onExit(id: string, p: SupervisedProcess): void {
    const c = this.containers.get(id);
    this.oom.check(id);
    if (c && p === c.init) c.state = { kind: "stopped" };
  }

  async start(id: string): Promise<number> {
    const c = this.get(id);
    c.require("start", ["created"]);
    await this.o.crun.run(["start", id], { logFile: join(c.bundle.dir, "start.log") });
    c.transition(["created"], { kind: "running" });
    return c.init.pid;
  }

  async exec(id: string, execId: string, processJson: Uint8Array, stdio: StdioRequest): Promise<number> {
    const c = this.get(id);
    checkId("exec id", execId);
    if (c.execs.has(execId))
      throw new ContainerError("ERR_PROCESS_EXISTS", `process ${execId} already exists in container ${id}`);
    c.require("exec into", ["running"]);
    const proc = parseProcess(processJson);
    const stdioReq = stdioFor(stdio, proc);
    proc.terminal = stdioReq.terminal;
    if (c.bundle.privileges) grantCapabilities(proc, c.bundle.privileges.capabilities);
    const file = join(c.bundle.dir, `exec-${execId}.json`);
    writeFileSync(file, JSON.stringify(proc));
    const { pid, process } = await this.launch(id, execId, c.bundle, stdioReq, (s, pidFile) => [
      "exec",
      "--detach",
      `--process=${file}`,
      `--pid-file=${pidFile}`,
      ...(s.consoleSocket ? [`--console-socket=${s.consoleSocket}`] : []),
      id,
    ]);
    c.execs.set(execId, process);
    return pid;
  }

  signal(id: string, execId: string, signal: number, all: boolean): void {
    if (!isValidSignal(signal))
      throw new ContainerError("ERR_SIGNAL_INVALID", `signal ${signal} is out of range (1-64)`);
    const c = this.get(id);
    const p = c.process(execId);
    if (all) {
      for (const pid of cgroupPids(c.cgroupDir)) kill(pid, signal);
      return;
    }
    if (p.exited || !kill(p.pid, signal))
      throw new ContainerError("ERR_PROCESS_FINISHED", `process ${execId || id} has already exited`);
  }

  wait(id: string, execId: string): Promise<ExitInfo> {
    return this.get(id).process(execId).wait();
  }

  stdio(id: string, execId: string): ProcessStdio {
    return this.get(id).process(execId).stdio;
  }

  async pause(id: string): Promise<void> {
    const c = this.get(id);
    c.require("pause", ["running"]);
    await this.o.crun.run(["pause", id], { logFile: join(c.bundle.dir, "pause.log") });
    c.transition(["running"], { kind: "paused" });
  }

  async resume(id: string): Promise<void> {
    const c = this.get(id);
    c.require("resume", ["paused"]);
    await this.o.crun.run(["resume", id], { logFile: join(c.bundle.dir, "resume.log") });
    c.transition(["paused"], { kind: "running" });
  }

  async update(id: string, resourcesJson: Uint8Array): Promise<void> {
    const c = this.get(id);
    c.require("update", ["created", "running", "paused"]);
    let resources: unknown;
    try {
      resources = JSON.parse(Buffer.from(resourcesJson).toString("utf8"));
    } catch (err) {
      throw new ContainerError("ERR_SPEC_INVALID", `resources is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof resources !== "object" || resources === null || Array.isArray(resources))
      throw new ContainerError("ERR_SPEC_INVALID", "resources: must be an object (OCI LinuxResources)");
    const file = join(c.bundle.dir, "resources.json");
    writeFileSync(file, JSON.stringify(resources));
    await this.o.crun.run(["update", `--resources=${file}`, id], {
      logFile: join(c.bundle.dir, "update.log"),
    });
  }

  /** Kills what is left, waits for the init to be reaped, deletes the crun state and the bundle. */
  async remove(id: string, timeoutSeconds: number): Promise<void> {
    const c = this.get(id);
    const procs = [c.init, ...c.execs.values()];
    if (procs.some((p) => !p.exited)) {
      for (const pid of cgroupPids(c.cgroupDir)) kill(pid, 9);
      for (const p of procs) if (!p.exited) kill(p.pid, 9);
      let timer: NodeJS.Timeout | undefined;
      const ok = await Promise.race([
        Promise.all(procs.map((p) => p.wait())).then(() => true),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(false), (timeoutSeconds || 10) * 1000);
        }),
      ]);
      clearTimeout(timer);
      if (!ok)
        throw new ContainerError("ERR_WRONG_STATE", `container ${id}: processes did not exit after SIGKILL`);
    }
    await this.o.crun.run(["delete", "--force", id], { logFile: join(c.bundle.dir, "delete.log") });
    this.oom.untrack(id);
    for (const p of procs) p.stdio.destroy();
    removeBundle(c.bundle);
    this.containers.delete(id);
  }

  /** Tears every container and the sandbox down (DestroySandbox). */
  async destroyAll(): Promise<void> {
    for (const id of this.ids()) await this.remove(id, 5).catch(() => undefined);
    destroySandbox(this.sandbox);
    this.sandbox = { kind: "absent" };
  }
}
