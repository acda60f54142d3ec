/**
 * A ttrpc byte stream turned into frames: reads through a FrameReader, writes whole frames, and
 * reports the end of the stream once. Client and server both stand on it.
 */
import type { Duplex } from "node:stream";
import { encodeHeader, FrameReader, MAX_MESSAGE_SIZE, type ReadResult } from "./frame.js";

export interface ChannelHandlers {
  onFrame(frame: ReadResult): void;
  /** Called once, when the stream ended, errored or was closed by us. */
  onClose(reason: string): void;
}

export class FrameChannel {
  private readonly reader: FrameReader;
  private closed = false;

  constructor(
    private readonly stream: Duplex,
    private readonly handlers: ChannelHandlers,
    maxMessageSize = MAX_MESSAGE_SIZE,
  ) {
    this.reader = new FrameReader(maxMessageSize);
    stream.on("data", (chunk: Buffer) => {
      if (this.closed) return;
      for (const frame of this.reader.push(chunk)) {
        if (this.closed) return;
        this.handlers.onFrame(frame);
      }
    });
    stream.on("end", () => this.finish("peer closed the connection"));
    stream.on("close", () => this.finish("connection closed"));
    stream.on("error", (err: Error) => this.finish(err.message));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Writes one frame; false when the channel is closed (the frame is dropped). Frames written in
   * the same tick leave in one writev: under many concurrent calls this saves a syscall each.
   */
  write(streamId: number, type: number, flags: number, payload: Uint8Array): boolean {
    if (this.closed) return false;
    if (!this.corked) {
      this.corked = true;
      this.stream.cork();
      process.nextTick(this.uncork);
    }
    // Header and payload as two writes of one corked writev: the payload is not copied.
    this.stream.write(encodeHeader(payload.length, streamId, type, flags));
    if (payload.length > 0) this.stream.write(payload);
    return true;
  }

  private corked = false;
  private readonly uncork = () => {
    this.corked = false;
    this.stream.uncork();
  };

  close(reason = "closed locally"): void {
    if (this.closed) return;
    this.finish(reason);
    this.stream.destroy();
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers.onClose(reason);
  }
}
