/**
 * The pod's tasks: containers and their processes, and the events containerd hears about them.
 * Each method is one Task RPC in domain terms; the Task service converts wire messages and
 * errors. The pod's sandbox (its VM) comes from the injected SandboxProvider, asked with the
 * SandboxSpec of the container that opens the pod (the CRI sandbox container, or a plain
 * container); it stops with the CRI sandbox container, or with the last container.
 */
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Logger } from "pino";
import type { Mount } from "../../protocol/generated/containerd/types/mount_pb.js";
import { checkedExitStatus, checkedPid } from "../agent-client/agent-replies.js";
import type { TskataConfig } from "../config/types.js";
import type { EventPublisher } from "../events/publisher.js";
import { cleanupSandbox, SandboxResources } from "../hypervisor/sandbox-resources.js";
import { deleted, type ExitInfo, paused, resumed, started } from "../process/state.js";
import { mountRootfs, unmountRootfs } from "../rootfs/rootfs.js";
import { ensureSharedMount } from "../rootfs/shared-mount.js";
import { shareVolume } from "../rootfs/volume.js";
import { SandboxError } from "../sandbox/errors.js";
import type { PodSandbox, SandboxProvider } from "../sandbox/provider.js";
import {
  CONTAINER_TYPE_SANDBOX,
  criContainerType,
  refuseHostNamespaces,
  type SandboxSpec,
  sandboxSpecFor,
} from "../sandbox/sandbox-spec.js";
import {
  type ContainerLimits,
  containerLimits,
  fitToHost,
  hostMemoryMib,
  podSize,
  type VmSize,
} from "../sandbox/sizing.js";
import { guestSpec, type OciSpec } from "../spec/guest-spec.js";
import { Timeline } from "../timeline/timeline.js";
import { type Container, processOf } from "./container.js";
import { invalid, notFound, TaskError } from "./errors.js";
import { IoBridge, type ProcessIo, parseProcessIo } from "./io-bridge.js";
import { type HookState, type HostHookKind, hostHooksOf, runHooks } from "./oci-hooks.js";
import { ShimProcess } from "./shim-process.js";
import { type IoOwner, ownStdio } from "./stdio-owner.js";

export interface TaskManagerOptions {
  namespace: string;
  sandboxId: string;
  events: EventPublisher;
  log: Logger;
  loadConfig(configPath: string | undefined): TskataConfig;
  /** Where the pod's VM comes from (cold boot, a warm pool, or a test's fake). */
  sandboxes: SandboxProvider;
  /** Host facts used to refuse a pod that cannot fit (tests pass their own). */
  host?: { memoryMib: number | undefined; cpus: number };
  /** Called when the last container is gone and the sandbox stopped. */
  onEmpty?: () => void;
  /** When containerd ran the shim's start command and when this daemon served (epoch ms). */
  shimStart?: { commandAtMs: number; servingAtMs: number };
  /** Told of every sandbox once it runs (the admin endpoint serves it until it exits). */
  onSandboxStarted?: (started: StartedSandbox) => void;
}

/** A running sandbox as the task layer started it. */
export interface StartedSandbox {
  sandbox: PodSandbox;
  spec: SandboxSpec;
  config: TskataConfig;
  /** The timeline of the container that opened the sandbox (its boot phases). */
  bootTimeline: Timeline;
}

export interface CreateInput {
  id: string;
  bundle: string;
  rootfs: readonly Mount[];
  io: ProcessIo;
  configPath: string | undefined;
  /** runc's IoUid/IoGid: the owner of the stdio of the task's processes. */
  ioOwner?: IoOwner | undefined;
  /** Runtime-option fields that configure runc's binary and mean nothing here (logged). */
  ignoredOptions?: string[];
}

/** Exit status reported for processes whose VM died under them (SIGKILL). */
const VM_DIED_STATUS = 128 + 9;

export class TaskManager {
  private readonly containers = new Map<string, Container>();
  private sandbox: PodSandbox | undefined;
  private starting: Promise<PodSandbox> | undefined;
  /** The state dir of the sandbox being booted: destroy() stops its recorded processes at once. */
  private startingStateDir: string | undefined;
  /** The spec and configuration the running sandbox was started with. */
  private sandboxSpec: SandboxSpec | undefined;
  private config: TskataConfig | undefined;
  private shuttingDown = false;

  /** Each container's start-up timeline, from Create to its teardown. */
  private readonly timelines = new Map<string, Timeline>();

  constructor(private readonly opts: TaskManagerOptions) {}

  get size(): number {
    return this.containers.size;
  }

  async create(input: CreateInput): Promise<number> {
    const { id, bundle } = input;
    const timeline = this.openTimeline(id);
    if (id === "" || id.includes("/") || id === "." || id === "..")
      throw invalid(`task id ${JSON.stringify(id)} is invalid`);
    if (this.containers.has(id)) throw new TaskError("TASK_EXISTS", `task ${id}: already exists`);
    const hostSpec = readBundleSpec(bundle);
    parseProcessIo(input.io);
    if (input.ignoredOptions?.length)
      this.opts.log.debug(
        { id, fields: input.ignoredOptions },
        "runc runtime options ignored (no runc binary here)",
      );
    // Without rootfs mounts the spec's root.path is the rootfs (relative to the bundle).
    const bundleRootfs = resolve(bundle, hostSpec.root?.path ?? "rootfs");
    if (input.rootfs.length === 0 && !existsSync(bundleRootfs)) {
      throw invalid(
        `bundle ${bundle}: no rootfs mounts were given and root.path ${bundleRootfs} does not exist`,
      );
    }
    const hooks = hostHooksOf(hostSpec.hooks, id);
    refuseHostNamespaces(hostSpec, `container ${id}`);
    refuseHostPropagation(hostSpec, id);
    const podPids = new Set([...this.containers.values()].map((c) => c.init.pid).filter((p) => p > 0));
    const { spec, volumes, readonlyRootfs } = guestSpec(hostSpec, id, podPids);
    for (const v of volumes) {
      if (!existsSync(v.hostSource)) throw invalid(`mount source ${v.hostSource} does not exist`);
    }
    const limits = containerLimits(hostSpec);
    const sandbox = await this.ensureSandbox(input.configPath, id, hostSpec, timeline);
    await this.growFor(id, limits);
    const dir = join(sandbox.sharedDir, id);
    const rootfs = join(dir, "rootfs");
    const init = new ShimProcess("init", id, "", input.io, undefined);
    const c: Container = {
      id,
      bundle,
      init,
      execs: new Map(),
      dir,
      rootfs,
      volumes: [],
      isPodSandbox: criContainerType(hostSpec) === CONTAINER_TYPE_SANDBOX,
      limits,
      ioOwner: input.ioOwner,
      hooks,
      ociVersion: hostSpec.ociVersion ?? "1.0.2",
      annotations: hostSpec.annotations ?? {},
    };
    let agentCreated = false;
    try {
      mountRootfs(
        input.rootfs.map((m) => ({ type: m.type, source: m.source, options: m.options })),
        bundleRootfs,
        rootfs,
        sandbox.sharedDir,
      );
      for (const v of volumes) {
        const target = join(sandbox.sharedDir, v.shareRelPath);
        shareVolume(v.hostSource, target, v.readonly, sandbox.sharedDir);
        c.volumes.push(target);
      }
      timeline.mark("rootfs-mount");
      await this.runHostHooks(c, "prestart", "creating", 0);
      await this.runHostHooks(c, "createRuntime", "creating", 0);
      if (this.sandboxSpec?.hookNetwork && this.config) {
        // what those hooks configured in the VM's own netns (Docker's bridge networks)
        await sandbox.plugHookNetwork?.(this.config.hypervisor.machineType);
        timeline.mark("hook-network");
      }
      const { pid } = await sandbox.agent.createContainer(
        {
          containerId: id,
          ociSpecJson: new TextEncoder().encode(JSON.stringify(spec)),
          rootfs: { source: { case: "sharedDir", value: `${id}/rootfs` }, readonly: readonlyRootfs },
          stdio: { terminal: input.io.terminal, stdin: input.io.stdin !== "" },
        },
        { timeoutMs: 60_000 },
      );
      timeline.mark("create-container");
      agentCreated = true;
      checkedPid(pid, `container ${id}`);
      ownStdio(input.io, c.ioOwner);
      init.io = await IoBridge.open(
        sandbox.agent,
        { containerId: id, execId: "" },
        input.io,
        this.opts.namespace,
        this.opts.log.child({ container: id }),
      );
      init.state = { kind: "created", pid };
      this.containers.set(id, c);
      this.timelines.set(id, timeline);
      // Followed from creation: a created init that is killed before Start ends too (runc).
      this.track(init);
    } catch (err) {
      if (agentCreated) await sandbox.agent.removeContainer({ containerId: id }).catch(() => {});
      this.releaseMounts(c);
      if (this.containers.size === 0) await this.stopSandbox();
      throw err;
    }
    this.opts.events.publish("/tasks/create", {
      containerId: id,
      bundle,
      rootfs: input.rootfs.map((m) => ({
        type: m.type,
        source: m.source,
        target: m.target,
        options: m.options,
      })),
      io: {
        stdin: input.io.stdin,
        stdout: input.io.stdout,
        stderr: input.io.stderr,
        terminal: input.io.terminal,
      },
      pid: init.pid,
    });
    return init.pid;
  }

  async start(id: string, execId: string): Promise<number> {
    const c = this.container(id);
    const p = this.process(c, execId);
    const agent = this.requireSandbox().agent;
    if (p.kind === "init") {
      p.state = started(p.state, p.pid);
      try {
        const { pid } = await agent.startContainer({ containerId: id }, { timeoutMs: 60_000 });
        this.timelines.get(id)?.mark("start");
        this.timelines.get(id)?.logSummary(this.opts.log, `container ${id} started`);
        const running = checkedPid(pid, `container ${id}`);
        // The init is followed since create: its exit may already be recorded.
        if (p.state.kind === "running") p.state = { kind: "running", pid: running };
      } catch (err) {
        if (p.state.kind === "running") p.state = { kind: "created", pid: p.pid };
        throw err;
      }
      await this.runHostHooks(c, "poststart", "running", p.pid).catch((err: unknown) => {
        this.opts.log.warn({ err, id }, "a poststart hook failed");
      });
      this.opts.events.publish("/tasks/start", { containerId: id, pid: p.pid });
      return p.pid;
    }
    c.init.assert("exec");
    p.state = started(p.state, 0);
    try {
      const { pid } = await agent.execProcess(
        {
          containerId: id,
          execId,
          processJson: p.processJson!,
          stdio: { terminal: p.stdio.terminal, stdin: p.stdio.stdin !== "" },
        },
        { timeoutMs: 60_000 },
      );
      p.state = { kind: "running", pid: checkedPid(pid, `exec ${execId} of container ${id}`) };
      ownStdio(p.stdio, c.ioOwner);
      p.io = await IoBridge.open(
        agent,
        { containerId: id, execId },
        p.stdio,
        this.opts.namespace,
        this.opts.log.child({ container: id, exec: execId }),
      );
    } catch (err) {
      p.state = { kind: "created", pid: 0 };
      throw err;
    }
    this.track(p);
    this.opts.events.publish("/tasks/exec-started", { containerId: id, execId, pid: p.pid });
    return p.pid;
  }

  async exec(id: string, execId: string, io: ProcessIo, processJson: Uint8Array): Promise<void> {
    const c = this.container(id);
    if (execId === "") throw invalid(`task ${id}: exec id is required`);
    if (c.execs.has(execId))
      throw new TaskError("TASK_EXISTS", `exec ${execId} of task ${id}: already exists`);
    c.init.assert("exec");
    parseProcessIo(io);
    c.execs.set(execId, new ShimProcess("exec", id, execId, io, processJson));
    this.opts.events.publish("/tasks/exec-added", { containerId: id, execId });
  }

  async delete(id: string, execId: string): Promise<{ pid: number; exit: ExitInfo }> {
    const c = this.container(id);
    const p = this.process(c, execId);
    if (p.kind === "exec") {
      p.state = deleted(p.state);
      p.io?.dispose();
      c.execs.delete(execId);
      return { pid: p.pid, exit: exitOf(p) };
    }
    for (const e of c.execs.values()) {
      if (e.state.kind === "running")
        throw new TaskError("TASK_WRONG_STATE", `task ${id}: exec ${e.execId} is still running`);
    }
    p.state = deleted(p.state);
    const exit = exitOf(p);
    if (this.sandbox) {
      await this.sandbox.agent
        .removeContainer({ containerId: id }, { timeoutMs: 30_000 })
        .catch((err: unknown) => {
          this.opts.log.warn({ err, id }, "agent could not remove the container");
        });
    }
    p.io?.dispose();
    for (const e of c.execs.values()) e.io?.dispose();
    this.releaseMounts(c);
    this.containers.delete(id);
    await this.runHostHooks(c, "poststop", "stopped", p.pid).catch((err: unknown) => {
      this.opts.log.warn({ err, id }, "a poststop hook failed");
    });
    this.opts.events.publish("/tasks/delete", {
      containerId: id,
      id,
      pid: p.pid,
      exitStatus: exit.status,
      exitedAt: timestamp(exit.at),
    });
    if (c.isPodSandbox) await this.stopPod();
    if (this.containers.size === 0) {
      await this.stopSandbox();
      this.opts.onEmpty?.();
    }
    this.timelines.get(id)?.mark("teardown");
    this.timelines.get(id)?.logPhases(this.opts.log);
    this.timelines.delete(id);
    return { pid: p.pid, exit };
  }

  async kill(id: string, execId: string, signal: number, all: boolean): Promise<void> {
    const c = this.container(id);
    const p = this.process(c, execId);
    if (signal < 1 || signal > 64) throw invalid(`signal ${signal} is out of range (1-64)`);
    if (p.state.kind === "stopped" || p.state.kind === "deleted") {
      throw new TaskError("PROCESS_FINISHED", `process ${p.id} of task ${id}: process already finished`);
    }
    p.assert("kill");
    // runc's shim: an exec that was never started has no process to signal (containerd's
    // Delete(WithProcessKill) counts on FAILED_PRECONDITION here and goes on to delete it).
    if (p.kind === "exec" && p.state.kind === "created")
      throw new TaskError("TASK_WRONG_STATE", `exec ${execId} of task ${id}: process not created`);
    await this.requireSandbox().agent.signalProcess(
      { containerId: id, execId, signal, all },
      { timeoutMs: 10_000 },
    );
  }

  async pause(id: string): Promise<void> {
    const c = this.container(id);
    c.init.state = paused(c.init.state, "init");
    try {
      await this.requireSandbox().agent.pauseContainer({ containerId: id }, { timeoutMs: 30_000 });
    } catch (err) {
      c.init.state = resumed(c.init.state, "init");
      throw err;
    }
    this.opts.events.publish("/tasks/paused", { containerId: id });
  }

  async resume(id: string): Promise<void> {
    const c = this.container(id);
    c.init.state = resumed(c.init.state, "init");
    try {
      await this.requireSandbox().agent.resumeContainer({ containerId: id }, { timeoutMs: 30_000 });
    } catch (err) {
      c.init.state = paused(c.init.state, "init");
      throw err;
    }
    this.opts.events.publish("/tasks/resumed", { containerId: id });
  }

  closeIO(id: string, execId: string): void {
    const p = this.process(this.container(id), execId);
    p.assert("close stdin of");
    this.opts.log.debug({ id, execId, hasStdin: p.io?.hasStdin }, "CloseIO");
    p.io?.closeStdin();
  }

  async resize(id: string, execId: string, width: number, height: number): Promise<void> {
    const p = this.process(this.container(id), execId);
    p.assert("resize");
    // runc's shim: resizing a process without a terminal does nothing.
    if (!p.stdio.terminal || p.state.kind === "stopped") return;
    await this.requireSandbox().agent.resizeTty({ containerId: id, execId, rows: height, columns: width });
  }

  async update(id: string, resourcesJson: Uint8Array): Promise<void> {
    const c = this.container(id);
    c.init.assert("update");
    await this.requireSandbox().agent.updateContainer(
      { containerId: id, resourcesJson },
      { timeoutMs: 30_000 },
    );
  }

  async pids(id: string): Promise<number[]> {
    const c = this.container(id);
    c.init.assert("list processes of");
    if (c.init.state.kind === "stopped") return [];
    const res = await this.requireSandbox().agent.listProcesses({ containerId: id }, { timeoutMs: 10_000 });
    return res.processes.map((p) => p.pid);
  }

  async stats(id: string) {
    this.container(id);
    return this.requireSandbox().agent.statsContainer({ containerId: id }, { timeoutMs: 10_000 });
  }

  wait(id: string, execId: string): Promise<ExitInfo> {
    return this.process(this.container(id), execId).exit;
  }

  /** The process and its container, for State. */
  lookup(id: string, execId: string): { container: Container; process: ShimProcess } {
    const container = this.container(id);
    return { container, process: this.process(container, execId) };
  }

  /** The pod's containers and their processes as tracked now (admin endpoint's Inspect). */
  containerList(): readonly Container[] {
    return [...this.containers.values()];
  }

  /** Stops the sandbox whatever runs in it (shim shutdown, SIGTERM); every step is attempted. */
  async destroy(): Promise<void> {
    // containerd publishes the exit of every task of a shim that goes away (it runs `delete` and
    // reports its answer): exits seen while shutting down are not published a second time.
    this.shuttingDown = true;
    const containers = [...this.containers.values()];
    this.containers.clear();
    // Mounts first: the sandbox's directory can only go once nothing is mounted below it.
    for (const c of containers) {
      try {
        for (const p of [c.init, ...c.execs.values()]) p.io?.dispose();
        this.releaseMounts(c);
      } catch (err) {
        this.opts.log.error({ err, id: c.id }, "releasing the container's host resources failed");
      }
    }
    try {
      // A sandbox still booting (SIGTERM, or containerd's Shutdown after a cancelled Create): its
      // recorded QEMU and virtiofsd are stopped now, not after the boot; the shim must not exit
      // and leave them behind.
      if (this.starting && this.startingStateDir)
        await cleanupSandbox(this.startingStateDir, this.opts.sandboxId).catch((err: unknown) =>
          this.opts.log.warn({ err }, "stopping the booting sandbox failed"),
        );
      await this.starting?.catch(() => undefined);
      await this.stopSandbox();
    } catch (err) {
      this.opts.log.error({ err }, "stopping the sandbox failed");
    }
  }

  /** Runs the container's host hooks of one kind, with the pod VM's QEMU pid in the state. */
  private async runHostHooks(
    c: Container,
    kind: HostHookKind,
    status: HookState["status"],
    _pid: number,
  ): Promise<void> {
    const hooks = c.hooks?.[kind] ?? [];
    if (hooks.length === 0) return;
    const vmPid = await this.vmPid();
    await runHooks(kind, hooks, {
      ociVersion: c.ociVersion ?? "1.0.2",
      id: c.id,
      status,
      pid: vmPid,
      bundle: c.bundle,
      annotations: c.annotations ?? {},
    });
  }

  /** The pod VM's QEMU pid, from the sandbox's resource record (0 when none is recorded). */
  private async vmPid(): Promise<number> {
    if (!this.sandbox || !this.config) return 0;
    const record = await SandboxResources.load(this.config.runtime.stateDir, this.sandbox.id).catch(
      () => undefined,
    );
    return record?.processes.find((p) => p.role === "qemu")?.pid ?? 0;
  }

  private container(id: string): Container {
    const c = this.containers.get(id);
    if (!c) throw notFound(`task ${id}`);
    return c;
  }

  private process(c: Container, execId: string): ShimProcess {
    const p = processOf(c, execId);
    if (!p) throw notFound(`exec ${execId} of task ${c.id}`);
    return p;
  }

  private requireSandbox(): PodSandbox {
    if (!this.sandbox)
      throw new TaskError("TASK_WRONG_STATE", `sandbox ${this.opts.sandboxId} is not running`);
    return this.sandbox;
  }

  /** The running sandbox, or a new one opened by this container (its spec read from it). */
  private async ensureSandbox(
    configPath: string | undefined,
    taskId: string,
    hostSpec: OciSpec,
    timeline: Timeline,
  ): Promise<PodSandbox> {
    if (this.sandbox) return this.sandbox;
    if (this.starting) return this.starting;
    const spec = sandboxSpecFor(taskId, this.opts.sandboxId, hostSpec);
    const config = this.opts.loadConfig(configPath);
    timeline.mark("config");
    const base = { memoryMib: config.hypervisor.memoryMib, vcpus: config.hypervisor.vcpus };
    const size = this.fit(`pod ${spec.id}`, podSize(base, spec.announced, [containerLimits(hostSpec)]), base);
    this.startingStateDir = config.runtime.stateDir;
    this.starting = (async () => {
      // Mounts made under the sandboxes dir after a VM started must reach virtiofsd's namespace.
      ensureSharedMount(join(config.runtime.stateDir, "sandboxes"));
      const sandbox = await this.opts.sandboxes.start({ spec, config, size, log: this.opts.log, timeline });
      this.sandbox = sandbox;
      this.sandboxSpec = spec;
      this.config = config;
      this.opts.onSandboxStarted?.({ sandbox, spec, config, bootTimeline: timeline });
      void sandbox.exited.then((exit) => {
        if (this.sandbox !== sandbox) return;
        this.sandbox = undefined;
        if (!exit.expected) this.onSandboxDied(exit.reason, sandbox);
      });
      return sandbox;
    })().finally(() => {
      this.starting = undefined;
      this.startingStateDir = undefined;
    });
    return this.starting;
  }

  private fit(what: string, size: VmSize, base: VmSize): VmSize {
    const host = this.opts.host ?? { memoryMib: hostMemoryMib(), cpus: availableParallelism() };
    return fitToHost(what, size, host.memoryMib, Math.max(host.cpus, base.vcpus));
  }

  /** Grows the VM when a container with limits joins: base + the pod's limits (Kata's sizing). */
  private async growFor(id: string, limits: ContainerLimits): Promise<void> {
    const sandbox = this.sandbox;
    if (!sandbox || !this.config || !this.sandboxSpec) return;
    if (limits.memoryBytes === 0 && limits.cpus === 0) return;
    const h = this.config.hypervisor;
    const base = { memoryMib: h.memoryMib, vcpus: h.vcpus };
    const all = [...[...this.containers.values()].map((c) => c.limits), limits];
    const target = this.fit(`container ${id}`, podSize(base, this.sandboxSpec.announced, all), base);
    const now = sandbox.size;
    if (target.memoryMib <= now.memoryMib && target.vcpus <= now.vcpus) return;
    const grown = await sandbox.resize({
      memoryMib: Math.max(target.memoryMib, now.memoryMib),
      vcpus: Math.max(target.vcpus, now.vcpus),
    });
    this.opts.log.info({ id, from: now, to: grown }, "sandbox grown for a container's limits");
  }

  private async stopSandbox(): Promise<void> {
    const sandbox = this.sandbox;
    this.sandbox = undefined;
    this.sandboxSpec = undefined;
    if (sandbox) await sandbox.stop();
  }

  /**
   * The CRI sandbox container is gone (StopPodSandbox): the pod's VM goes with it. Processes
   * still alive in it are reported killed, so no Wait hangs; their containers stay until deleted.
   */
  private async stopPod(): Promise<void> {
    if (!this.sandbox) return;
    for (const c of this.containers.values()) {
      for (const p of [c.init, ...c.execs.values()]) {
        if (p.state.kind === "running" || p.state.kind === "paused" || p.state.kind === "created") {
          this.reportExit(p, { status: VM_DIED_STATUS, at: Date.now() });
        }
      }
      // The share goes with the sandbox: nothing of it may stay mounted (lazy unmounts let the
      // guest's last writes through while the VM stops).
      this.releaseMounts(c);
    }
    await this.stopSandbox();
  }

  /**
   * The VM died: every live process is reported exited (128+9) so no Wait hangs; the share's
   * mounts are released (nothing can use them any more) and the sandbox's teardown is finished —
   * its directory can only go once nothing is mounted below it. Containers stay until deleted.
   */
  private onSandboxDied(reason: string, sandbox: PodSandbox): void {
    this.opts.log.error({ reason }, "sandbox VM died");
    for (const c of this.containers.values()) {
      for (const p of [c.init, ...c.execs.values()]) {
        if (p.state.kind === "running" || p.state.kind === "paused" || p.state.kind === "created") {
          this.reportExit(p, { status: VM_DIED_STATUS, at: Date.now() });
        }
      }
      try {
        this.releaseMounts(c);
      } catch (err) {
        this.opts.log.error({ err, id: c.id }, "releasing the container's mounts failed");
      }
    }
    void Promise.resolve()
      .then(() => sandbox.stop())
      .catch((err: unknown) => this.opts.log.error({ err }, "finishing the dead sandbox's teardown failed"));
  }

  /**
   * A container's timeline. The shim's first one starts when containerd ran the start command
   * (shim-spawn: until this daemon served); later ones when Create arrives.
   */
  private openTimeline(id: string): Timeline {
    const shimStart = this.opts.shimStart;
    this.opts.shimStart = undefined;
    if (!shimStart) return new Timeline(id);
    const timeline = new Timeline(id, shimStart.commandAtMs);
    timeline.mark("shim-spawn", shimStart.servingAtMs);
    timeline.mark("create-request");
    return timeline;
  }

  /** Follows a started process to its exit: output drained first, then state, event, waiters. */
  private track(p: ShimProcess): void {
    const agent = this.requireSandbox().agent;
    void (async () => {
      let exit: ExitInfo;
      try {
        const w = await agent.waitProcess({ containerId: p.containerId, execId: p.execId });
        const { status, replaced } = checkedExitStatus(w.exitStatus);
        if (replaced)
          this.opts.log.warn(
            { id: p.id, reported: w.exitStatus },
            "agent reported an impossible exit status",
          );
        exit = { status, at: w.exitedAt ? timestampDate(w.exitedAt).getTime() : Date.now() };
        if (p.kind === "init") this.timelines.get(p.containerId)?.mark("exit");
      } catch (err) {
        // The VM (or its agent) went away: the process ended now, not when it was started.
        exit = { status: VM_DIED_STATUS, at: Date.now() };
        this.opts.log.warn({ err, id: p.id }, "waiting for the process failed; reporting it killed");
      }
      await p.io?.outputDone;
      // Nothing can read stdin any more: stop waiting for the client's writer.
      p.io?.closeStdin();
      this.reportExit(p, exit);
    })();
  }

  private reportExit(p: ShimProcess, exit: ExitInfo): void {
    if (p.state.kind === "stopped" || p.state.kind === "deleted") return;
    p.markExited(exit);
    if (this.shuttingDown) return;
    this.opts.events.publish("/tasks/exit", {
      containerId: p.containerId,
      id: p.id,
      pid: p.pid,
      exitStatus: exit.status,
      exitedAt: timestamp(exit.at),
    });
  }

  private releaseMounts(c: Container): void {
    for (const v of [...c.volumes].reverse()) unmountRootfs(v, v);
    unmountRootfs(c.rootfs, c.dir);
  }
}

function readBundleSpec(bundle: string): OciSpec {
  const file = join(bundle, "config.json");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw invalid(
      `bundle ${bundle}: cannot read config.json: ${(err as NodeJS.ErrnoException).code ?? err}`,
      err,
    );
  }
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch (err) {
    throw invalid(`bundle ${bundle}: config.json is not valid JSON: ${(err as Error).message}`, err);
  }
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
    throw invalid(`bundle ${bundle}: config.json is not a JSON object`);
  }
  const s = spec as OciSpec;
  if (typeof s.process !== "object" || s.process === null)
    throw invalid(`bundle ${bundle}: config.json: process is required`);
  return s;
}

function exitOf(p: ShimProcess): ExitInfo {
  return p.state.kind === "deleted" || p.state.kind === "stopped"
    ? (p.state.exit ?? { status: 0, at: Date.now() })
    : { status: 0, at: Date.now() };
}

function timestamp(ms: number) {
  return { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

/**
 * Mount propagation from the host into a container (rslave/rshared binds: Kubernetes'
 * HostToContainer and Bidirectional) cannot reach a VM: the guest sees a copy of the share, not
 * the host's mount table. Refused with the mount named.
 */
function refuseHostPropagation(spec: OciSpec, id: string): void {
  for (const m of spec.mounts ?? []) {
    const opts = m.options ?? [];
    const bad = opts.find((o) => ["shared", "rshared", "slave", "rslave"].includes(o));
    if (bad && (m.type === "bind" || opts.includes("bind") || opts.includes("rbind"))) {
      throw new SandboxError(
        "SANDBOX_MOUNT_UNSUPPORTED",
        `container ${id}: mount ${m.destination} asks for ${bad} propagation from the host; a tskata container runs in a VM and cannot see host mounts made after it started (use private propagation)`,
      );
    }
  }
}
