import { closeSync, constants, openSync, read, write } from "node:fs";
import { Duplex } from "node:stream";
import type { Logger } from "../logger.js";
import type { HostChannel } from "./host-channel.js";
import { waitForSerialPort } from "./virtio-serial-port.js";

/** Backoff between reads while the host side is not connected (read returns EOF at once then). */
const IDLE_MIN_MS = 2;
const IDLE_MAX_MS = 20;
const READ_SIZE = 64 * 1024;

function readAsync(fd: number, buf: Buffer): Promise<number> {
  return new Promise((resolve, reject) =>
    read(fd, buf, 0, buf.length, null, (e, n) => (e ? reject(e) : resolve(n))),
  );
}

function writeAll(fd: number, chunk: Buffer, cb: (err?: Error | null) => void): void {
  write(fd, chunk, 0, chunk.length, null, (err, n) => {
    if (err) cb(err);
    else if (n < chunk.length) writeAll(fd, chunk.subarray(n), cb);
    else cb();
  });
}

/** One host connection on the port: bytes the loop reads are pushed in; writes go to the fd. */
class SerialSession extends Duplex {
  private wakeReader: (() => void) | undefined;

  constructor(private readonly fd: number) {
    super({ allowHalfOpen: false });
  }

  /** Resolves when the consumer wants more data (after push() returned false). */
  drained(): Promise<void> {
    return new Promise((r) => {
      this.wakeReader = r;
    });
  }

  override _read(): void {
    const r = this.wakeReader;
    this.wakeReader = undefined;
    r?.();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    writeAll(this.fd, chunk, cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this._read();
    cb(err);
  }
}

/**
 * The agent end of a virtio-serial port (/dev/vportNpM). Node cannot put a character device in
 * its event loop (net.Socket refuses the fd), so reads run in libuv's thread pool: a read blocks
 * while the host is connected and idle, returns data when it writes, and returns 0 (EOF) when
 * the host side is not connected or has just disconnected. EOF ends the session; the next data
 * starts a new one, so the host can connect any number of times.
 */
export class SerialChannel implements HostChannel {
  description: string;
  private fd: number | undefined;
  private closed = false;
  private session: SerialSession | undefined;

  constructor(
    private readonly portName: string,
    private readonly log: Logger,
    private readonly findTimeoutMs = 10_000,
  ) {
    this.description = `virtio-serial ${portName}`;
  }

  async start(onSession: (stream: Duplex) => void): Promise<void> {
    const path = await waitForSerialPort(this.portName, this.findTimeoutMs);
    this.fd = openSync(path, constants.O_RDWR | constants.O_NOCTTY);
    this.description = `virtio-serial ${this.portName} (${path})`;
    void this.readLoop(this.fd, onSession);
  }

  close(): void {
    this.closed = true;
    this.endSession();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private endSession(): void {
    const s = this.session;
    this.session = undefined;
    if (s && !s.destroyed) {
      s.push(null);
      s.end();
    }
  }

  private async readLoop(fd: number, onSession: (stream: Duplex) => void): Promise<void> {
    const buf = Buffer.allocUnsafe(READ_SIZE);
    let idleMs = IDLE_MIN_MS;
    while (!this.closed) {
      let n: number;
      try {
        n = await readAsync(fd, buf);
      } catch (err) {
        if (this.closed) return;
        this.log.warn({ err }, "virtio-serial read failed");
        this.endSession();
        await sleep(IDLE_MAX_MS);
        continue;
      }
      if (n === 0) {
        if (this.session) {
          this.log.info("host disconnected from the agent channel");
          this.endSession();
        }
        await sleep(idleMs);
        idleMs = Math.min(idleMs * 2, IDLE_MAX_MS);
        continue;
      }
      idleMs = IDLE_MIN_MS;
      if (!this.session || this.session.destroyed) {
        this.session = new SerialSession(fd);
        this.log.info("host connected to the agent channel");
        onSession(this.session);
      }
      const session = this.session;
      if (!session.push(Buffer.from(buf.subarray(0, n)))) await session.drained();
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
