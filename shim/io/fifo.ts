/**
 * Opening containerd's stdio FIFOs without blocking the event loop and with the EOF semantics a
 * task needs:
 * - output (stdout/stderr): a read end is opened first (non-blocking), so the write-only open
 *   cannot block; it is closed again at once, leaving the writer to see EPIPE if the real reader
 *   (ctr, the CRI) goes away.
 * - input (stdin): read non-blocking, with our own write end held open, so the FIFO does not
 *   report EOF before the client has opened it; `release()` drops that writer (on CloseIO), after
 *   which the stream ends once the client's data is drained.
 * A plain path that is not a FIFO is a regular file: output is appended to it.
 */
import { closeSync, constants, createWriteStream, openSync, statSync } from "node:fs";
import { Socket } from "node:net";
import type { Readable, Writable } from "node:stream";

export function isFifo(path: string): boolean {
  try {
    return statSync(path).isFIFO();
  } catch {
    return false;
  }
}

export function openOutput(path: string): Writable {
  if (!isFifo(path)) return createWriteStream(path, { flags: "a" });
  const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    return new Socket({ fd, readable: false, writable: true });
  } finally {
    closeSync(reader);
  }
}

export interface InputFifo {
  stream: Readable;
  /** Lets the stream end once every client writer has closed (idempotent). */
  release(): void;
}

export function openInput(path: string): InputFifo {
  if (!isFifo(path)) throw new Error(`stdin ${path} is not a FIFO`);
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  let keepalive: number | undefined = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  const stream = new Socket({ fd, readable: true, writable: false });
  const release = () => {
    if (keepalive === undefined) return;
    closeSync(keepalive);
    keepalive = undefined;
  };
  stream.once("close", release);
  return { stream, release };
}
