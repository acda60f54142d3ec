/**
 * Opening containerd's stdio FIFOs without blocking the event loop and with the EOF semantics a
 * task needs:
 * - output (stdout/stderr): a read end is opened first (non-blocking), so the write-only open
 *   cannot block; it is closed again at once, leaving the writer to see EPIPE if the real reader
 *   (ctr, the CRI) goes away.
 * - input (stdin): opened for reading with a blocking open on a libuv thread, so EOF is only ever
 *   the client closing its writer; CloseIO (`release()`) ends it early, like runc's shim does.
 * A plain path that is not a FIFO is a regular file: output is appended to it.
 */
import { closeSync, constants, createWriteStream, open, openSync, statSync } from "node:fs";
import { Socket } from "node:net";
import { PassThrough, type Readable, type Writable } from "node:stream";

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
  /**
   * CloseIO: the client is done writing. The stream ends at once if the client never opened the
   * FIFO, otherwise after a short grace that lets bytes already in the FIFO through. Idempotent.
   */
  release(): void;
}

/** Bytes still in the FIFO when CloseIO arrives get this long to be read before stdin closes. */
const RELEASE_GRACE_MS = 200;
/** open(2) O_PATH: a handle on the FIFO itself, usable through /proc/self/fd even once unlinked. */
const O_PATH = 0o10000000;

export function openInput(path: string): InputFifo {
  if (!isFifo(path)) throw new Error(`stdin ${path} is not a FIFO`);
  const stream = new PassThrough();
  const handle = openSync(path, O_PATH);
  const viaHandle = `/proc/self/fd/${handle}`;
  let socket: Socket | undefined;
  let released = false;
  let handleOpen = true;
  const closeHandle = () => {
    if (handleOpen) closeSync(handle);
    handleOpen = false;
  };
  const endSoon = () => {
    const timer = setTimeout(() => socket?.destroy(), RELEASE_GRACE_MS);
    socket?.once("close", () => clearTimeout(timer));
  };
  // A blocking open (on a libuv thread) returns once the client's writer is there, so EOF means
  // the client closed it, never that it has not opened it yet. The client may never open it:
  // release() then unblocks the open by being that writer for an instant.
  open(viaHandle, constants.O_RDONLY, (err, fd) => {
    closeHandle();
    if (err) {
      stream.destroy(err);
      return;
    }
    socket = new Socket({ fd, readable: true, writable: false });
    socket.on("error", () => {});
    socket.on("close", () => stream.end());
    socket.pipe(stream, { end: false });
    if (released) endSoon();
  });
  return {
    stream,
    release() {
      if (released) return;
      released = true;
      if (socket) {
        endSoon();
        return;
      }
      // Be the writer for an instant so the blocked open returns (and then reads EOF). Until the
      // libuv thread has actually entered open(), there is no reader and this fails (ENXIO):
      // keep nudging until the open has returned.
      const nudge = () => {
        if (!handleOpen) return;
        try {
          closeSync(openSync(viaHandle, constants.O_WRONLY | constants.O_NONBLOCK));
        } catch {
          // no reader in open() yet
        }
        setTimeout(nudge, 10).unref();
      };
      nudge();
    },
  };
}
