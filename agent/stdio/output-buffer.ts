/**
 * A bounded buffer between a process's output (a pipe or pty) and the host's long-poll reads.
 * The source is paused when `limit` bytes are waiting and resumed once a read brings the buffer
 * under it, so a fast writer blocks in the guest kernel instead of filling guest memory. Bytes
 * are handed out in order, each exactly once.
 */

/** What the buffer pulls from: a Node readable (net.Socket over the pipe fd) or a test double. */
export interface OutputSource {
  on(event: "data", fn: (chunk: Buffer) => void): unknown;
  on(event: "end" | "close", fn: () => void): unknown;
  on(event: "error", fn: (err: Error) => void): unknown;
  pause(): unknown;
  resume(): unknown;
  destroy(): unknown;
}

export interface ReadResult {
  data: Buffer;
  eof: boolean;
}

type Reader = { max: number; resolve: (r: ReadResult) => void; cleanup: () => void };

export class OutputBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private ended = false;
  private paused = false;
  private readers: Reader[] = [];
  private endWaiters: (() => void)[] = [];
  private source: OutputSource | undefined;

  constructor(readonly limit = 1 << 20) {}

  /** Pulls from `source` until it ends; errors (EIO from a pty whose slave closed) count as end. */
  attach(source: OutputSource): void {
    this.source = source;
    source.on("data", (chunk) => this.push(chunk));
    source.on("end", () => this.end());
    source.on("close", () => this.end());
    source.on("error", () => this.end());
  }

  push(chunk: Buffer): void {
    if (this.ended || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    this.serve();
    if (this.size >= this.limit && !this.paused && this.source) {
      this.paused = true;
      this.source.pause();
    }
  }

  /** No more data will come; pending readers get what is left, then eof. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.serve();
    for (const w of this.endWaiters.splice(0)) w();
  }

  /** Stops reading the source now (what is buffered stays readable). */
  close(): void {
    this.source?.destroy();
    this.end();
  }

  get bufferedBytes(): number {
    return this.size;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Resolves once the source has ended (every byte is in the buffer or already read). */
  whenEnded(): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise((resolve) => this.endWaiters.push(resolve));
  }

  /**
   * Up to `max` bytes, waiting until there is at least one byte or the end. `eof` is true only
   * when the buffer is empty and the source has ended. An aborted read resolves empty.
   */
  read(max: number, signal?: AbortSignal): Promise<ReadResult> {
    if (this.size > 0 || this.ended) return Promise.resolve(this.take(max));
    return new Promise((resolve) => {
      const onAbort = () => {
        this.readers = this.readers.filter((r) => r !== reader);
        resolve({ data: Buffer.alloc(0), eof: false });
      };
      const reader: Reader = { max, resolve, cleanup: () => signal?.removeEventListener("abort", onAbort) };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.readers.push(reader);
    });
  }

  private serve(): void {
    while (this.readers.length > 0 && (this.size > 0 || this.ended)) {
      const reader = this.readers.shift()!;
      reader.cleanup();
      reader.resolve(this.take(reader.max));
    }
  }

  private take(max: number): ReadResult {
    const parts: Buffer[] = [];
    let n = 0;
    while (this.chunks.length > 0 && n < max) {
      const head = this.chunks[0]!;
      const want = max - n;
      if (head.length <= want) {
        parts.push(head);
        n += head.length;
        this.chunks.shift();
      } else {
        parts.push(head.subarray(0, want));
        this.chunks[0] = head.subarray(want);
        n += want;
      }
    }
    this.size -= n;
    if (this.paused && this.size < this.limit && this.source) {
      this.paused = false;
      this.source.resume();
    }
    const data = parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
    return { data, eof: this.ended && this.size === 0 };
  }
}
