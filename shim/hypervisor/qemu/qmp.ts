/**
 * A QMP client over QEMU's unix control socket: greeting + capabilities negotiation, commands
 * matched to replies by `id`, asynchronous events (SHUTDOWN, POWERDOWN, STOP, RESET, ...), and
 * a close that fails every pending and future command with a typed error instead of hanging.
 * A connection made with `fdPassing` can also send one command with a file descriptor riding on
 * it as SCM_RIGHTS (`getfd`): QEMU takes the fd with the bytes that carry the command.
 */
import { connect, Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { NativeError } from "../../../native/errors.js";
import { connectUnixStream, sendWithFd } from "../../../native/send-fd.js";
import { HypervisorError, QmpCommandError } from "../errors.js";
import { QmpDecoder, type QmpMessage } from "./qmp-decoder.js";

export interface QmpEvent {
  event: string;
  data: Record<string, unknown>;
  timestamp: { seconds: number; microseconds: number } | undefined;
}

/** `query-status` reply. */
export interface QmpStatus {
  running: boolean;
  status: string;
  singlestep?: boolean;
}

/** One entry of `query-hotpluggable-cpus`; `qomPath` is set when the CPU is plugged. */
export interface HotpluggableCpu {
  type: string;
  vcpusCount: number;
  props: Record<string, number>;
  qomPath: string | undefined;
}

export interface QmpConnectOptions {
  /** Bound on connect + greeting + qmp_capabilities. */
  timeoutMs?: number;
  /** Bound on each command's reply (0 = none). */
  commandTimeoutMs?: number;
  /** Open the socket through native/ so that `executeWithFd` can pass fds (default false). */
  fdPassing?: boolean;
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

export class QmpClient {
  private readonly decoder = new QmpDecoder();
  private readonly pending = new Map<number, Pending>();
  private readonly eventListeners = new Set<(e: QmpEvent) => void>();
  private readonly closeListeners = new Set<(reason: string) => void>();
  private nextId = 1;
  private closedReason: string | undefined;
  private greetingWaiter: ((m: QmpMessage) => void) | undefined;
  /** The greeting's `QMP.version.qemu`, e.g. {major: 7, minor: 2, micro: 22}. */
  version: Record<string, number> | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly commandTimeoutMs: number,
    /** The socket's fd when it was opened for fd passing. */
    private readonly rawFd: number | undefined,
  ) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (err) => this.close(`socket error: ${err.message}`));
    socket.on("close", () => this.close("QMP socket closed"));
  }

  /**
   * Connects and negotiates. The socket may exist before QEMU listens on it (bind, then listen),
   * so ECONNREFUSED/ENOENT are retried until the bound.
   */
  static async connect(path: string, opts: QmpConnectOptions = {}): Promise<QmpClient> {
    const timeoutMs = opts.timeoutMs ?? 5000;
    const deadline = Date.now() + timeoutMs;
    let socket: Socket;
    let rawFd: number | undefined;
    if (opts.fdPassing) {
      rawFd = await dialNative(path, deadline);
      socket = new Socket({ fd: rawFd, readable: true, writable: true });
    } else {
      socket = await dial(path, deadline);
    }
    const client = new QmpClient(socket, opts.commandTimeoutMs ?? 30_000, rawFd);
    let timer: NodeJS.Timeout | undefined;
    const expiry = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new HypervisorError("QMP_TIMEOUT", `QMP handshake on ${path} timed out after ${timeoutMs} ms`),
          ),
        Math.max(0, deadline - Date.now()),
      );
    });
    try {
      await Promise.race([client.handshake(), expiry]);
      return client;
    } catch (err) {
      client.destroy();
      if (err instanceof HypervisorError) throw err;
      throw new HypervisorError("QMP_CLOSED", `QMP connect to ${path} failed: ${(err as Error).message}`, {
        cause: err,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  private async handshake(): Promise<void> {
    const greeting = await new Promise<QmpMessage>((resolve, reject) => {
      this.greetingWaiter = resolve;
      this.onClose((reason) => reject(new HypervisorError("QMP_CLOSED", reason)));
    });
    const qmp = greeting["QMP"] as { version?: { qemu?: Record<string, number> } } | undefined;
    if (!qmp)
      throw new HypervisorError("QMP_PROTOCOL", `expected a QMP greeting, got ${JSON.stringify(greeting)}`);
    this.version = qmp.version?.qemu;
    await this.execute("qmp_capabilities");
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /** Runs a command; resolves with its `return` value. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    return this.send<T>(command, args, (line) => {
      this.socket.write(line);
    });
  }

  /**
   * Runs a command with `fd` sent along as SCM_RIGHTS (for `getfd`/`add-fd`). The fd is
   * duplicated into QEMU by the kernel: the caller still owns (and closes) its own. Only on a
   * connection opened with `fdPassing`; waits until earlier writes have left, so that the bytes
   * carrying the fd are this command's.
   */
  async executeWithFd<T = unknown>(command: string, args: Record<string, unknown>, fd: number): Promise<T> {
    const rawFd = this.rawFd;
    if (rawFd === undefined) {
      throw new HypervisorError(
        "QMP_PROTOCOL",
        `QMP ${command}: this connection cannot pass file descriptors (connect with fdPassing)`,
      );
    }
    while (this.socket.writableLength > 0 && !this.closed) {
      await new Promise((resolve) => this.socket.once("drain", resolve));
    }
    return this.send<T>(command, args, (line) => {
      sendWithFd(rawFd, Buffer.from(line), fd, "QMP");
    });
  }

  /** `getfd`: QEMU keeps `fd` under `name` for a later `fd=name` (netdev_add tap …). */
  getFd(name: string, fd: number): Promise<void> {
    return this.executeWithFd<void>("getfd", { fdname: name }, fd);
  }

  /** `closefd`: drops an fd passed with getfd that nothing took. */
  closeFd(name: string): Promise<void> {
    return this.execute<void>("closefd", { fdname: name });
  }

  private send<T>(
    command: string,
    args: Record<string, unknown> | undefined,
    write: (line: string) => void,
  ): Promise<T> {
    if (this.closedReason !== undefined) {
      return Promise.reject(new HypervisorError("QMP_CLOSED", `QMP ${command}: ${this.closedReason}`));
    }
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer =
        this.commandTimeoutMs > 0
          ? setTimeout(() => {
              this.pending.delete(id);
              reject(
                new HypervisorError("QMP_TIMEOUT", `QMP ${command}: no reply in ${this.commandTimeoutMs} ms`),
              );
            }, this.commandTimeoutMs)
          : undefined;
      this.pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject, timer });
      const message = args ? { execute: command, arguments: args, id } : { execute: command, id };
      try {
        write(`${JSON.stringify(message)}\r\n`);
      } catch (err) {
        this.pending.delete(id);
        clearTimeout(timer);
        reject(
          new HypervisorError("QMP_CLOSED", `QMP ${command}: sending failed: ${(err as Error).message}`, {
            cause: err,
          }),
        );
      }
    });
  }

  queryStatus(): Promise<QmpStatus> {
    return this.execute<QmpStatus>("query-status");
  }

  /** Presses the ACPI power button; the guest decides whether to power off. */
  systemPowerdown(): Promise<void> {
    return this.execute<void>("system_powerdown");
  }

  /**
   * Asks QEMU to exit now. QEMU may close the socket before or after replying, so a close
   * counts as success.
   */
  async quit(): Promise<void> {
    try {
      await this.execute("quit");
    } catch (err) {
      if (!(err instanceof HypervisorError && err.code === "QMP_CLOSED")) throw err;
    }
  }

  /**
   * Plugs a pc-dimm of `sizeMib` backed by a new memory object (a shared memfd when `shared`,
   * so vhost-user daemons can map it). If the DIMM is refused, its backend is removed again.
   */
  async addMemoryDimm(id: string, sizeMib: number, shared: boolean): Promise<void> {
    const backend = `${id}-mem`;
    const size = sizeMib * 1024 * 1024;
    await this.execute(
      "object-add",
      shared
        ? { "qom-type": "memory-backend-memfd", id: backend, size, share: true }
        : { "qom-type": "memory-backend-ram", id: backend, size },
    );
    try {
      await this.execute("device_add", { driver: "pc-dimm", id, memdev: backend });
    } catch (err) {
      await this.execute("object-del", { id: backend }).catch(() => undefined);
      throw err;
    }
  }

  async queryHotpluggableCpus(): Promise<HotpluggableCpu[]> {
    const raw =
      await this.execute<
        { type: string; "vcpus-count": number; props: Record<string, number>; "qom-path"?: string }[]
      >("query-hotpluggable-cpus");
    return raw.map((c) => ({
      type: c.type,
      vcpusCount: c["vcpus-count"],
      props: c.props,
      qomPath: c["qom-path"],
    }));
  }

  /** Plugs one CPU of a free `query-hotpluggable-cpus` slot. */
  addCpu(id: string, slot: HotpluggableCpu): Promise<void> {
    return this.execute<void>("device_add", { driver: slot.type, id, ...slot.props });
  }

  onEvent(listener: (e: QmpEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Called once when the connection ends (at once if it already has). */
  onClose(listener: (reason: string) => void): () => void {
    if (this.closedReason !== undefined) {
      listener(this.closedReason);
      return () => {};
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Resolves with the next event named `name` (or rejects when the connection closes first). */
  waitForEvent(name: string, timeoutMs: number): Promise<QmpEvent> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        offEvent();
        offClose();
      };
      const timer = setTimeout(() => {
        done();
        reject(new HypervisorError("QMP_TIMEOUT", `no QMP ${name} event in ${timeoutMs} ms`));
      }, timeoutMs);
      const offEvent = this.onEvent((e) => {
        if (e.event !== name) return;
        done();
        resolve(e);
      });
      const offClose = this.onClose((reason) => {
        done();
        reject(new HypervisorError("QMP_CLOSED", `waiting for ${name}: ${reason}`));
      });
    });
  }

  destroy(): void {
    this.socket.destroy();
    this.close("QMP client closed");
  }

  private onData(chunk: Buffer): void {
    for (const result of this.decoder.push(chunk)) {
      if (!result.ok) {
        this.socket.destroy();
        this.close(`QMP protocol error: ${result.error} in ${JSON.stringify(result.line.slice(0, 200))}`);
        return;
      }
      this.dispatch(result.message);
    }
  }

  private dispatch(message: QmpMessage): void {
    if (this.greetingWaiter) {
      const waiter = this.greetingWaiter;
      this.greetingWaiter = undefined;
      waiter(message);
      return;
    }
    if (typeof message["event"] === "string") {
      const event: QmpEvent = {
        event: message["event"],
        data: (message["data"] as Record<string, unknown> | undefined) ?? {},
        timestamp: message["timestamp"] as QmpEvent["timestamp"],
      };
      for (const listener of [...this.eventListeners]) listener(event);
      return;
    }
    const id = message["id"];
    const entry = typeof id === "number" ? this.pending.get(id) : undefined;
    if (!entry) return; // a reply to a command we no longer wait for (timed out)
    this.pending.delete(id as number);
    clearTimeout(entry.timer);
    if ("return" in message) {
      entry.resolve(message["return"]);
    } else {
      const error = (message["error"] as { class?: string; desc?: string } | undefined) ?? {};
      entry.reject(
        new QmpCommandError(entry.command, error.class ?? "GenericError", error.desc ?? "unknown error"),
      );
    }
  }

  private close(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    for (const [, entry] of this.pending) {
      clearTimeout(entry.timer);
      entry.reject(new HypervisorError("QMP_CLOSED", `QMP ${entry.command}: ${reason}`));
    }
    this.pending.clear();
    for (const listener of [...this.closeListeners]) listener(reason);
    this.closeListeners.clear();
    this.eventListeners.clear();
  }
}

const NOT_LISTENING_YET = new Set(["ECONNREFUSED", "ENOENT"]);

/** As `dial`, through native/ (the fd is kept for SCM_RIGHTS); a blocking connect, immediate on AF_UNIX. */
async function dialNative(path: string, deadline: number): Promise<number> {
  for (;;) {
    try {
      return connectUnixStream(path);
    } catch (err) {
      const code = err instanceof NativeError ? err.errnoName : "";
      if (!NOT_LISTENING_YET.has(code) || Date.now() >= deadline) {
        throw new HypervisorError("QMP_CLOSED", `QMP connect to ${path} failed: ${(err as Error).message}`, {
          cause: err,
        });
      }
      await sleep(5);
    }
  }
}

async function dial(path: string, deadline: number): Promise<Socket> {
  for (;;) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const socket = connect(path);
        socket.once("connect", () => {
          socket.off("error", reject);
          resolve(socket);
        });
        socket.once("error", reject);
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "";
      if (!NOT_LISTENING_YET.has(code) || Date.now() >= deadline) {
        throw new HypervisorError("QMP_CLOSED", `QMP connect to ${path} failed: ${(err as Error).message}`, {
          cause: err,
        });
      }
      await sleep(5);
    }
  }
}
