/**
 * ttrpc framing: a 10-byte big-endian header (u32 payload length, u32 stream id, u8 type,
 * u8 flags) followed by the payload. Payloads above MAX_MESSAGE_SIZE are never buffered: the
 * reader skips them and reports an OversizedFrame so the peer can be answered
 * RESOURCE_EXHAUSTED while the connection carries on.
 */

export const HEADER_SIZE = 10;
export const MAX_MESSAGE_SIZE = 4 << 20;

export enum FrameType {
  REQUEST = 1,
  RESPONSE = 2,
  DATA = 3,
}

export const Flags = {
  /** request/data: the sender will send no more data on this stream. */
  REMOTE_CLOSED: 0x01,
  /** request: the sender will stream more data after the request. */
  REMOTE_OPEN: 0x02,
  /** data: the frame carries no payload. */
  NO_DATA: 0x04,
} as const;

export interface FrameHeader {
  readonly length: number;
  readonly streamId: number;
  readonly type: number;
  readonly flags: number;
}

export interface Frame extends FrameHeader {
  readonly payload: Buffer;
}

/** A frame whose declared length exceeded the limit; its payload was discarded. */
export interface OversizedFrame extends FrameHeader {
  readonly oversized: true;
}

export type ReadResult = Frame | OversizedFrame;

export function isOversized(r: ReadResult): r is OversizedFrame {
  return (r as OversizedFrame).oversized === true;
}

export function encodeHeader(length: number, streamId: number, type: number, flags: number): Buffer {
  const header = Buffer.allocUnsafe(HEADER_SIZE);
  header.writeUInt32BE(length, 0);
  header.writeUInt32BE(streamId >>> 0, 4);
  header[8] = type;
  header[9] = flags;
  return header;
}

/** Header and payload in one buffer, ready for a single write. */
export function encodeFrame(streamId: number, type: number, flags: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER_SIZE + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.writeUInt32BE(streamId >>> 0, 4);
  out[8] = type;
  out[9] = flags;
  out.set(payload, HEADER_SIZE);
  return out;
}

/**
 * Incremental frame parser: feed it chunks of any size (one byte, or many frames at once) and
 * it returns the complete frames they finish. Holds at most one partial frame in memory.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private header: FrameHeader | undefined;
  /** Bytes of an oversized payload still to skip. */
  private discarding = 0;

  constructor(private readonly maxMessageSize = MAX_MESSAGE_SIZE) {}

  /** Bytes held for a frame not yet complete. */
  get pendingBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): ReadResult[] {
    const out: ReadResult[] = [];
    let data = chunk;
    while (data.length > 0) {
      if (this.discarding > 0) {
        const skip = Math.min(this.discarding, data.length);
        this.discarding -= skip;
        data = data.subarray(skip);
        continue;
      }
      this.chunks.push(data);
      this.buffered += data.length;
      data = Buffer.alloc(0);
      for (;;) {
        if (this.header === undefined) {
          if (this.buffered < HEADER_SIZE) break;
          const h = this.take(HEADER_SIZE);
          const header: FrameHeader = {
            length: h.readUInt32BE(0),
            streamId: h.readUInt32BE(4),
            type: h[8]!,
            flags: h[9]!,
          };
          if (header.length > this.maxMessageSize) {
            out.push({ ...header, oversized: true });
            // Whatever follows the header in this chunk belongs to the oversized payload.
            const rest = this.takeAll();
            this.discarding = header.length;
            data = rest;
            break;
          }
          this.header = header;
        }
        if (this.buffered < this.header.length) break;
        out.push({ ...this.header, payload: this.take(this.header.length) });
        this.header = undefined;
      }
    }
    return out;
  }

  private takeAll(): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    this.chunks = [];
    this.buffered = 0;
    return all;
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const taken = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return taken;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const need = n - filled;
      if (c.length <= need) {
        c.copy(out, filled);
        filled += c.length;
        this.chunks.shift();
      } else {
        c.copy(out, filled, 0, need);
        this.chunks[0] = c.subarray(need);
        filled += need;
      }
    }
    this.buffered -= n;
    return out;
  }
}
