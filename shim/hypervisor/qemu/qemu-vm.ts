/**
 * A running QEMU VM and its supervision. Death is noticed at once from either signal: the
 * child's 'exit' or the QMP socket closing (or virtiofsd dying under it). The state turns
 * `dead` synchronously, the agent transport and pending/future status calls fail with
 * VmDeadError, and the sandbox's resources are torn down; `exited` resolves after that.
 */
import type { ChildProcess } from "node:child_process";
import { open } from "node:fs/promises";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import type { AgentTransport, ConnectOptions } from "../../agent-client/transport/transport.js";
import type { MachineType } from "../../config/types.js";
import { ConsoleFollower } from "../console-follower.js";
import { VmDeadError } from "../errors.js";
import type {
  GuestStatus,
  StopOptions,
  VirtualMachine,
  VmExit,
  VmNetworkRequest,
  VmResources,
  VmState,
} from "../hypervisor.js";
import type { SandboxResources } from "../sandbox-resources.js";
import type { ChildExit, Virtiofsd } from "../virtiofsd.js";
import { grow, planGrowth, type VmSizing } from "./hotplug.js";
import { plugNics } from "./nic-hotplug.js";
import { hostMemAvailableMib } from "./plan.js";
import type { QmpClient, QmpEvent } from "./qmp.js";

/** The QEMU process: our child when we spawned it, or a process adopted from the warm pool. */
export type QemuProcess = Pick<ChildProcess, "pid" | "kill">;

export interface QemuVmParts {
  sandboxId: string;
  child: QemuProcess;
  childExited: Promise<ChildExit>;
  qmp: QmpClient;
  resources: SandboxResources;
  virtiofsd: Virtiofsd | undefined;
  transport: AgentTransport;
  stderr: () => string;
  stopTimeoutMs: number;
  /** Default bound of `agent.connect()` (agent.dial_timeout_ms). */
  dialTimeoutMs: number;
  /** Size at start and hotplug ceilings; resize() updates it. */
  sizing: VmSizing;
  log: Logger;
}

export class QemuVm implements VirtualMachine {
  readonly sandboxId: string;
  readonly exited: Promise<VmExit>;
  private current: VmState;
  private stopping: Promise<VmExit> | undefined;
  private lastShutdown: string | undefined;
  private readonly dead = new AbortController();
  private resolveExited!: (exit: VmExit) => void;
  private readonly console: ConsoleFollower;
  /** Resizes run one after another. */
  private resizing: Promise<unknown> = Promise.resolve();
  /** Supervision was handed to another process (relinquish): nothing is stopped or removed here. */
  private relinquished = false;

  constructor(private readonly parts: QemuVmParts) {
    this.sandboxId = parts.sandboxId;
    const guestLog = parts.log.child({ source: "guest-console" });
    this.console = new ConsoleFollower(parts.resources.paths.consoleLog, (line) => guestLog.info(line));
    this.console.start().catch((err: unknown) => parts.log.warn({ err }, "cannot follow the guest console"));
    this.current = { kind: "running", pid: parts.child.pid! };
    this.exited = new Promise((resolve) => {
      this.resolveExited = resolve;
    });
    void parts.childExited.then((e) => this.die(`QEMU exited unexpectedly (${describeExit(e)})`, e));
    parts.qmp.onClose((reason) => this.die(`QMP connection lost (${reason})`, undefined));
    parts.qmp.onEvent((e) => this.onQmpEvent(e));
    const virtiofsd = parts.virtiofsd;
    void virtiofsd?.exited.then((e) => {
      const said = virtiofsd.stderr ? `: ${virtiofsd.stderr.split("\n").slice(-3).join(" | ")}` : "";
      this.die(`virtiofsd exited unexpectedly (${describeExit(e)})${said}`, undefined);
    });
  }

  get state(): VmState {
    return this.current;
  }

  get sharedDir(): string {
    return this.parts.resources.paths.shared;
  }

  get consoleLog(): string {
    return this.parts.resources.paths.consoleLog;
  }

  get pid(): number {
    return this.parts.child.pid!;
  }

  get agent(): AgentTransport {
    const base = this.parts.transport;
    const dead = this.dead.signal;
    return {
      kind: base.kind,
      address: base.address,
      connect: (opts: ConnectOptions = {}): Promise<Duplex> => {
        if (dead.aborted) return Promise.reject(this.deadError());
        const signal = opts.signal ? AbortSignal.any([opts.signal, dead]) : dead;
        const timeoutMs = opts.timeoutMs ?? this.parts.dialTimeoutMs;
        return base.connect({ ...opts, timeoutMs, signal }).catch((err: unknown) => {
          throw dead.aborted ? this.deadError() : err;
        });
      },
    };
  }

  async status(): Promise<GuestStatus> {
    if (this.current.kind === "dead" || this.current.kind === "stopped") throw this.deadError();
    try {
      const s = await this.parts.qmp.queryStatus();
      return { running: s.running, status: s.status };
    } catch (err) {
      if (this.dead.signal.aborted || this.parts.qmp.closed) throw this.deadError();
      throw err;
    }
  }

  /** What QEMU gives the guest now (base + hotplugged). */
  get size(): VmResources {
    return { memoryMib: this.parts.sizing.memoryMib, vcpus: this.parts.sizing.vcpus };
  }

  resize(target: VmResources): Promise<VmResources> {
    const run = this.resizing.then(() => this.doResize(target));
    this.resizing = run.catch(() => undefined);
    return run;
  }

  private async doResize(target: VmResources): Promise<VmResources> {
    if (this.current.kind !== "running") throw this.deadError();
    const { qmp, sizing, log } = this.parts;
    const from = this.size;
    const plan = planGrowth(this.sandboxId, sizing, target, await hostMemAvailableMib());
    if (plan.addMemoryMib === 0 && plan.addVcpus === 0) return from;
    const started = performance.now();
    try {
      await grow(this.sandboxId, qmp, sizing, plan);
    } catch (err) {
      if (this.dead.signal.aborted || qmp.closed) throw this.deadError();
      throw err;
    }
    const ms = Math.round(performance.now() - started);
    log.info({ sandboxId: this.sandboxId, from, to: this.size, ms }, "VM grown by hotplug");
    return this.size;
  }

  /**
   * Plugs the pod network's NICs into the running VM (nic-hotplug.ts): the netns and taps are
   * recorded first, so that the VM's teardown (or crash cleanup) removes them whatever happens.
   * Needs a QMP connection opened with fdPassing (adopt-vm.ts). All or nothing.
   */
  async plugNetwork(network: VmNetworkRequest, machineType: MachineType): Promise<void> {
    if (this.current.kind !== "running") throw this.deadError();
    await this.parts.resources.setNetwork({
      netnsPath: network.netnsPath,
      tapNames: network.nics.map((n) => n.tapName),
      ...(network.ownNetns ? { ownNetns: true } : {}),
    });
    const started = performance.now();
    try {
      await plugNics(this.sandboxId, this.parts.qmp, machineType, network);
    } catch (err) {
      if (this.dead.signal.aborted || this.parts.qmp.closed) throw this.deadError();
      throw err;
    }
    this.parts.log.info(
      {
        sandboxId: this.sandboxId,
        nics: network.nics.map((n) => n.mac),
        ms: Math.round(performance.now() - started),
      },
      "NICs hotplugged",
    );
  }

  stop(opts: StopOptions = {}): Promise<VmExit> {
    if (this.relinquished) return Promise.reject(this.deadError());
    if (this.current.kind === "dead" || this.current.kind === "stopped") {
      // Gone already: finish releasing what its teardown could not release at the time.
      return this.parts.resources
        .teardown()
        .catch((err: unknown) => this.parts.log.error({ err }, "sandbox cleanup failed again"))
        .then(() => this.exited);
    }
    this.stopping ??= this.doStop(opts);
    return this.stopping;
  }

  private async doStop(opts: StopOptions): Promise<VmExit> {
    const { child, childExited, qmp, log } = this.parts;
    this.current = { kind: "stopping", pid: child.pid! };
    const timeoutMs = opts.timeoutMs ?? this.parts.stopTimeoutMs;
    const started = performance.now();
    let method = "guest poweroff";
    // The request and the guest's poweroff share one bound: a request that hangs (an agent that
    // does not answer) must not hold the stop.
    const request = Promise.resolve()
      .then(opts.requestPoweroff ?? (() => qmp.systemPowerdown()))
      .then(
        () => true,
        (err: unknown) => {
          log.warn({ err }, "graceful poweroff request failed");
          return false;
        },
      );
    const answered = (await within(request, timeoutMs)) === true;
    let exit: ChildExit | undefined;
    if (answered && opts.quitAfterRequest) {
      method = "QMP quit once the guest answered the poweroff request";
      await within(qmp.quit(), 1000).catch(() => undefined);
      exit = await within(childExited, 2000);
    } else exit = await within(childExited, Math.max(0, timeoutMs - (performance.now() - started)));
    if (!exit) {
      method = `QMP quit after ${timeoutMs} ms without guest poweroff`;
      await within(qmp.quit(), 1000).catch(() => undefined);
      exit = await within(childExited, 2000);
    }
    if (!exit) {
      method = "SIGKILL (QEMU ignored quit)";
      child.kill("SIGKILL");
      exit = await childExited;
    }
    const elapsed = Math.round(performance.now() - started);
    log.info({ sandboxId: this.sandboxId, method, ms: elapsed }, "VM stopped");
    return this.finish({ expected: true, reason: `stopped by ${method}`, exit, kind: "stopped" });
  }

  /**
   * Stops supervising a running VM without stopping it, for the warm pool handing it to a shim:
   * QMP is closed (QEMU serves one QMP client at a time), the console is no longer followed, and
   * neither QEMU's exit nor anything else tears the sandbox down from here; `exited` never
   * resolves. The agent transport fails from now on.
   */
  async relinquish(): Promise<void> {
    if (this.current.kind !== "running") throw this.deadError();
    this.relinquished = true;
    this.dead.abort(new VmDeadError(this.sandboxId, "handed over to another process"));
    this.parts.qmp.destroy();
    await this.console.stop().catch(() => {});
  }

  private onQmpEvent(e: QmpEvent): void {
    if (e.event === "SHUTDOWN") this.lastShutdown = String(e.data["reason"] ?? "unknown");
    this.parts.log.debug({ sandboxId: this.sandboxId, event: e.event, data: e.data }, "QMP event");
  }

  /** Marks the VM dead (only from `running`), then makes sure everything is gone. */
  private die(reason: string, exit: ChildExit | undefined): void {
    if (this.current.kind !== "running" || this.relinquished) return;
    const why = this.lastShutdown ? `${reason}; guest shutdown reason: ${this.lastShutdown}` : reason;
    const record: VmExit = {
      expected: false,
      reason: why,
      code: exit?.code ?? null,
      signal: exit?.signal ?? null,
      consoleTail: "",
    };
    this.current = { kind: "dead", exit: record };
    this.dead.abort(new VmDeadError(this.sandboxId, why));
    this.parts.log.error({ sandboxId: this.sandboxId, reason: why }, "VM died");
    void (async () => {
      const { child, childExited } = this.parts;
      let ended = await within(childExited, exit ? 0 : 500);
      if (ended && !exit) {
        // QEMU went by itself right after the first sign (its QMP socket or virtiofsd, whichever
        // event the loop saw first): name QEMU's exit, keep what was noticed first.
        const shutdown = this.lastShutdown ? `; guest shutdown reason: ${this.lastShutdown}` : "";
        record.reason = `QEMU exited unexpectedly (${describeExit(ended)})${shutdown}; first noticed: ${reason}`;
      }
      if (!ended) {
        child.kill("SIGKILL");
        ended = await childExited;
      }
      await this.finish({ expected: false, reason: why, exit: ended, kind: "dead", record });
    })();
  }

  private async finish(f: {
    expected: boolean;
    reason: string;
    exit: ChildExit;
    kind: "stopped" | "dead";
    record?: VmExit;
  }): Promise<VmExit> {
    const { qmp, resources, virtiofsd, log } = this.parts;
    qmp.destroy();
    const record = f.record ?? {
      expected: f.expected,
      reason: f.reason,
      code: null,
      signal: null,
      consoleTail: "",
    };
    record.code = f.exit.code;
    record.signal = f.exit.signal;
    await this.console.stop().catch(() => {});
    record.consoleTail = await tail(resources.paths.consoleLog, 4096);
    const panic = /Kernel panic - not syncing:[^\n]*/.exec(record.consoleTail)?.[0];
    if (!f.expected && panic) record.reason += `; guest console: ${panic.trim()}`;
    if (f.kind === "stopped") this.current = { kind: "stopped", exit: record };
    this.dead.abort(new VmDeadError(this.sandboxId, record.reason));
    // virtiofsd leaves by itself once QEMU is gone; give it a moment before the teardown kills it.
    if (virtiofsd) await within(virtiofsd.exited, 500);
    try {
      const report = await resources.teardown();
      log.debug({ sandboxId: this.sandboxId, report }, "sandbox resources released");
    } catch (err) {
      record.reason += `; cleanup failed: ${(err as Error).message}`;
      log.error({ sandboxId: this.sandboxId, err }, "sandbox cleanup failed");
    }
    this.resolveExited(record);
    return record;
  }

  private deadError(): VmDeadError {
    const exit =
      this.current.kind === "dead" || this.current.kind === "stopped" ? this.current.exit : undefined;
    return new VmDeadError(this.sandboxId, exit?.reason ?? "VM is gone");
  }
}

export function describeExit(e: ChildExit): string {
  return e.signal ? `signal ${e.signal}` : `exit code ${e.code}`;
}

/** The promise's value, or undefined if it does not settle within `ms`. */
export async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function tail(path: string, bytes: number): Promise<string> {
  try {
    const handle = await open(path, "r");
    try {
      const { size } = await handle.stat();
      const start = Math.max(0, size - bytes);
      const buf = Buffer.alloc(size - start);
      await handle.read(buf, 0, buf.length, start);
      return buf.toString("utf8");
    } finally {
      await handle.close();
    }
  } catch {
    return "";
  }
}
