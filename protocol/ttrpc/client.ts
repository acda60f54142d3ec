/**
 * ttrpc client: many concurrent unary calls multiplexed on one byte stream, each on its own odd
 * stream id. Deadlines are sent to the server (timeout_nano) and enforced here too; an
 * AbortSignal cancels a call; closing the client or losing the connection fails every pending
 * call with UNAVAILABLE, so no promise is left hanging.
 */
import type { Duplex } from "node:stream";
import { FrameChannel } from "./channel.js";
import { Code } from "./codes.js";
import { decodeResponse, encodeRequest, type Metadata, responseResult } from "./envelope.js";
import { connectionClosedError, TtrpcError } from "./errors.js";
import { FrameType, isOversized, MAX_MESSAGE_SIZE, type ReadResult } from "./frame.js";

export interface CallOptions {
  /** Deadline relative to now; sent to the server and enforced locally. */
  timeoutMs?: number | undefined;
  metadata?: Metadata | undefined;
  signal?: AbortSignal | undefined;
}

export interface ClientOptions {
  /** Metadata sent with every call (per-call metadata is added after it). */
  metadata?: Metadata;
  maxMessageSize?: number;
  /** Called once when the connection is lost or closed. */
  onClose?: (reason: string) => void;
}

interface PendingCall {
  resolve(payload: Uint8Array): void;
  reject(err: TtrpcError): void;
}

const MAX_STREAM_ID = 0xffff_ffff;

export class Client {
  private readonly channel: FrameChannel;
  private readonly pending = new Map<number, PendingCall>();
  private readonly maxMessageSize: number;
  private nextStreamId = 1;
  private closeReason: string | undefined;

  constructor(
    stream: Duplex,
    private readonly options: ClientOptions = {},
  ) {
    this.maxMessageSize = options.maxMessageSize ?? MAX_MESSAGE_SIZE;
    this.channel = new FrameChannel(
      stream,
      { onFrame: (f) => this.onFrame(f), onClose: (r) => this.onClose(r) },
      this.maxMessageSize,
    );
  }

  /** Calls awaiting their response. */
  get inFlight(): number {
    return this.pending.size;
  }

  get closed(): boolean {
    return this.closeReason !== undefined;
  }

  call(service: string, method: string, payload: Uint8Array, opts: CallOptions = {}): Promise<Uint8Array> {
    if (this.closeReason !== undefined) return Promise.reject(connectionClosedError(this.closeReason));
    if (opts.signal?.aborted) return Promise.reject(cancelledError(service, method));
    if (this.nextStreamId > MAX_STREAM_ID) {
      return Promise.reject(new TtrpcError(Code.UNAVAILABLE, "ttrpc: stream ids exhausted; reconnect"));
    }
    const timeoutMs = opts.timeoutMs ?? 0;
    const request = encodeRequest({
      service,
      method,
      payload,
      timeoutNano: timeoutMs > 0 ? BigInt(Math.ceil(timeoutMs * 1e6)) : 0n,
      metadata: mergeMetadata(this.options.metadata, opts.metadata),
    });
    if (request.length > this.maxMessageSize) {
      return Promise.reject(
        new TtrpcError(
          Code.RESOURCE_EXHAUSTED,
          `message length ${request.length} exceed maximum message size of ${this.maxMessageSize}`,
        ),
      );
    }
    const streamId = this.nextStreamId;
    this.nextStreamId += 2;

    return new Promise<Uint8Array>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => settle(cancelledError(service, method));
      const settle = (result: Uint8Array | TtrpcError) => {
        if (!this.pending.delete(streamId)) return;
        if (timer !== undefined) clearTimeout(timer);
        opts.signal?.removeEventListener("abort", onAbort);
        if (result instanceof TtrpcError) reject(result);
        else resolve(result);
      };
      this.pending.set(streamId, { resolve: settle, reject: settle });
      if (timeoutMs > 0) {
        timer = setTimeout(
          () =>
            settle(
              new TtrpcError(
                Code.DEADLINE_EXCEEDED,
                `${service}/${method}: deadline of ${timeoutMs} ms exceeded`,
              ),
            ),
          timeoutMs,
        );
      }
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      this.channel.write(streamId, FrameType.REQUEST, 0, request);
    });
  }

  /** Closes the connection; pending calls fail with UNAVAILABLE. */
  close(): void {
    this.channel.close("client closed");
  }

  private onFrame(frame: ReadResult): void {
    if (frame.type !== FrameType.RESPONSE && frame.type !== FrameType.DATA) {
      // A server never sends anything else: the byte stream is not ttrpc (or is out of step), so
      // nothing that follows can be trusted. End it: every pending call fails at once.
      this.channel.close(`protocol violation: the server sent a frame of type ${frame.type}`);
      return;
    }
    const call = this.pending.get(frame.streamId);
    if (call === undefined) return; // late answer to a call that timed out or was cancelled
    if (isOversized(frame)) {
      call.reject(
        new TtrpcError(
          Code.RESOURCE_EXHAUSTED,
          `message length ${frame.length} exceed maximum message size of ${this.maxMessageSize}`,
        ),
      );
      return;
    }
    if (frame.type !== FrameType.RESPONSE) return; // data frames are not used by unary calls
    let result: Uint8Array | TtrpcError;
    try {
      result = responseResult(decodeResponse(frame.payload));
    } catch (err) {
      result = new TtrpcError(Code.DATA_LOSS, `ttrpc: malformed response: ${(err as Error).message}`);
    }
    if (result instanceof TtrpcError) call.reject(result);
    else call.resolve(result);
  }

  private onClose(reason: string): void {
    this.closeReason = reason;
    const err = connectionClosedError(reason);
    for (const call of [...this.pending.values()]) call.reject(err);
    this.options.onClose?.(reason);
  }
}

function cancelledError(service: string, method: string): TtrpcError {
  return new TtrpcError(Code.CANCELLED, `${service}/${method}: call cancelled`);
}

function mergeMetadata(a: Metadata | undefined, b: Metadata | undefined): Metadata | undefined {
  if (a === undefined || a.size === 0) return b;
  if (b === undefined || b.size === 0) return a;
  const merged = new Map<string, string[]>();
  for (const [k, v] of a) merged.set(k, [...v]);
  for (const [k, v] of b) merged.set(k, [...(merged.get(k) ?? []), ...v]);
  return merged;
}
