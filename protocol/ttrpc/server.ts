/**
 * ttrpc server: services registered by full proto name ("containerd.task.v2.Task"), each method
 * a handler from request payload bytes to response payload bytes. Connections come from a
 * unix-socket listener or from any Duplex handed to serveStream (a virtio-serial port, a vsock).
 *
 * Every request frame gets exactly one response frame: unknown service or method →
 * UNIMPLEMENTED, undecodable request → INVALID_ARGUMENT, oversized frame → RESOURCE_EXHAUSTED
 * (the connection survives), timeout_nano elapsed → DEADLINE_EXCEEDED (the handler's signal
 * aborts and its late result is dropped).
 */
import { chmodSync, unlinkSync } from "node:fs";
import net from "node:net";
import type { Duplex } from "node:stream";
import { FrameChannel } from "./channel.js";
import { Code } from "./codes.js";
import {
  type DecodedRequest,
  decodeRequest,
  encodeErrorResponse,
  encodeOkResponse,
  type Metadata,
} from "./envelope.js";
import { TtrpcError, toTtrpcError } from "./errors.js";
import { FrameType, isOversized, MAX_MESSAGE_SIZE, type ReadResult } from "./frame.js";

export interface CallContext {
  readonly service: string;
  readonly method: string;
  readonly metadata: Metadata;
  /** Aborts when the deadline passes or the connection closes. */
  readonly signal: AbortSignal;
  /** Absolute deadline (Date.now() scale), if the caller set one. */
  readonly deadline: number | undefined;
}

export type Handler = (payload: Uint8Array, ctx: CallContext) => Promise<Uint8Array> | Uint8Array;

export interface ServerOptions {
  maxMessageSize?: number;
  /** Told of every call that failed on the server side, for logging. */
  onCallError?: (service: string, method: string, err: TtrpcError) => void;
}

export class Server {
  private readonly services = new Map<string, Map<string, Handler>>();
  private readonly connections = new Set<Connection>();
  private readonly listeners = new Set<net.Server>();

  constructor(private readonly options: ServerOptions = {}) {}

  /** Adds (or replaces) the handlers of a service. */
  register(service: string, methods: ReadonlyMap<string, Handler>): void {
    this.services.set(service, new Map(methods));
  }

  lookup(service: string, method: string): Handler | TtrpcError {
    const methods = this.services.get(service);
    if (methods === undefined)
      return new TtrpcError(Code.UNIMPLEMENTED, `service ${service}: not implemented`);
    const handler = methods.get(method);
    if (handler === undefined) {
      return new TtrpcError(Code.UNIMPLEMENTED, `method ${service}/${method}: not implemented`);
    }
    return handler;
  }

  /** Serves ttrpc on an already-connected byte stream. */
  serveStream(stream: Duplex): Connection {
    const conn = new Connection(this, stream, this.options, () => this.connections.delete(conn));
    this.connections.add(conn);
    return conn;
  }

  /** Listens on a unix socket (mode 0600), replacing a stale socket file. */
  async listen(path: string): Promise<net.Server> {
    try {
      unlinkSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    const listener = net.createServer((socket) => this.serveStream(socket));
    await new Promise<void>((resolve, reject) => {
      listener.once("error", reject);
      listener.listen(path, () => {
        listener.off("error", reject);
        resolve();
      });
    });
    chmodSync(path, 0o600);
    this.listeners.add(listener);
    return listener;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /**
   * Stops accepting, waits up to graceMs for in-flight calls to finish, then closes every
   * connection. Calls still running are aborted.
   */
  async shutdown(graceMs = 0): Promise<void> {
    // net.Server.close() stops accepting at once but calls back only when every connection is gone.
    const closed = [...this.listeners].map((l) => new Promise<void>((r) => l.close(() => r())));
    this.listeners.clear();
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && [...this.connections].some((c) => c.inFlight > 0)) {
      await new Promise((r) => setTimeout(r, 10));
    }
    for (const conn of [...this.connections]) conn.close("server shut down");
    await Promise.all(closed);
  }
}

/** One client connection: dispatches its requests and writes their responses. */
export class Connection {
  private readonly channel: FrameChannel;
  private readonly active = new Map<number, AbortController>();
  private readonly maxMessageSize: number;

  constructor(
    private readonly server: Server,
    stream: Duplex,
    private readonly options: ServerOptions,
    private readonly onGone: () => void,
  ) {
    this.maxMessageSize = options.maxMessageSize ?? MAX_MESSAGE_SIZE;
    this.channel = new FrameChannel(
      stream,
      { onFrame: (f) => this.onFrame(f), onClose: (r) => this.onClose(r) },
      this.maxMessageSize,
    );
  }

  get inFlight(): number {
    return this.active.size;
  }

  close(reason = "closed by server"): void {
    this.channel.close(reason);
  }

  private onFrame(frame: ReadResult): void {
    if (frame.type !== FrameType.REQUEST) return; // data frames only belong to streaming calls
    const id = frame.streamId;
    if (isOversized(frame)) {
      this.fail(
        id,
        new TtrpcError(
          Code.RESOURCE_EXHAUSTED,
          `message length ${frame.length} exceed maximum message size of ${this.maxMessageSize}`,
        ),
      );
      return;
    }
    if (id % 2 === 0) {
      this.fail(id, new TtrpcError(Code.INVALID_ARGUMENT, `stream id ${id} must be odd for client calls`));
      return;
    }
    if (this.active.has(id)) {
      this.fail(id, new TtrpcError(Code.INVALID_ARGUMENT, `stream id ${id} is already in use`));
      return;
    }
    let request: DecodedRequest;
    try {
      request = decodeRequest(frame.payload);
    } catch (err) {
      this.fail(
        id,
        new TtrpcError(Code.INVALID_ARGUMENT, `unmarshal request error: ${(err as Error).message}`),
      );
      return;
    }
    const handler = this.server.lookup(request.service, request.method);
    if (handler instanceof TtrpcError) {
      this.fail(id, handler, request.service, request.method);
      return;
    }
    this.dispatch(id, request, handler);
  }

  private dispatch(id: number, request: DecodedRequest, handler: Handler): void {
    const { service, method, timeoutNano, metadata } = request;
    const controller = new AbortController();
    this.active.set(id, controller);
    let timer: NodeJS.Timeout | undefined;
    let deadline: number | undefined;
    const finish = (result: Uint8Array | TtrpcError) => {
      if (this.active.get(id) !== controller) return;
      this.active.delete(id);
      if (timer !== undefined) clearTimeout(timer);
      if (result instanceof TtrpcError) this.fail(id, result, service, method);
      else this.respond(id, result, service, method);
    };
    if (timeoutNano > 0n) {
      const ms = Number(timeoutNano / 1_000_000n) || 1;
      deadline = Date.now() + ms;
      timer = setTimeout(() => {
        finish(new TtrpcError(Code.DEADLINE_EXCEEDED, `${service}/${method}: deadline of ${ms} ms exceeded`));
        controller.abort(new TtrpcError(Code.DEADLINE_EXCEEDED, "deadline exceeded"));
      }, ms);
    }
    const ctx: CallContext = { service, method, metadata, signal: controller.signal, deadline };
    let pending: Promise<Uint8Array> | Uint8Array;
    try {
      pending = handler(request.payload, ctx);
    } catch (err) {
      finish(toTtrpcError(err));
      return;
    }
    if (pending instanceof Uint8Array) finish(pending);
    else pending.then(finish, (err: unknown) => finish(toTtrpcError(err)));
  }

  private respond(id: number, payload: Uint8Array, service: string, method: string): void {
    const response = encodeOkResponse(payload);
    if (response.length > this.maxMessageSize) {
      this.fail(
        id,
        new TtrpcError(
          Code.RESOURCE_EXHAUSTED,
          `message length ${response.length} exceed maximum message size of ${this.maxMessageSize}`,
        ),
        service,
        method,
      );
      return;
    }
    this.channel.write(id, FrameType.RESPONSE, 0, response);
  }

  private fail(id: number, err: TtrpcError, service = "", method = ""): void {
    this.options.onCallError?.(service, method, err);
    this.channel.write(id, FrameType.RESPONSE, 0, encodeErrorResponse(err));
  }

  private onClose(reason: string): void {
    for (const controller of this.active.values()) {
      controller.abort(new TtrpcError(Code.CANCELLED, `connection closed: ${reason}`));
    }
    this.active.clear();
    this.onGone();
  }
}
