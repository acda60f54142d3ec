/**
 * The stdio of a stand-in (the host process a runc caller holds for a container's init or an
 * exec), as paths the task layer opens: the stand-in's own fds through /proc/<pid>/fd/N, so the
 * guest process writes straight into the pipes the caller passed. With a terminal the stand-in
 * makes a pty pair, sends the master over --console-socket (SCM_RIGHTS, as runc does), puts it
 * in raw mode (the guest's pty does the line discipline) and relays the slave: output is written
 * to it, input read from it into a FIFO the task layer reads as stdin.
 */

import { execFileSync } from "node:child_process";
import { closeSync, constants, fstatSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { join } from "node:path";
import { streamFromFd } from "../../native/fd-stream.js";
import { openPty, windowSize } from "../../native/pty.js";
import { makeRaw, sendFd } from "../../native/send-fd.js";
import type { ProcessIo } from "../../shim/task/io-bridge.js";

export interface WindowSize {
  columns: number;
  rows: number;
}

export interface HostStdio {
  io: ProcessIo;
  /**
   * With a terminal: the window size the caller last set on the pty master it got over
   * --console-socket (read from the slave; the caller's TIOCSWINSZ sends no signal here).
   */
  windowSize?: () => WindowSize;
  /** Closes what was opened for the relay (pty, FIFO). */
  dispose(): void;
}

/** What fd `fd` of this process is: a pipe/FIFO, a regular file, a character device, a socket, or closed. */
function fdKind(fd: number): "fifo" | "file" | "char" | "socket" | "closed" {
  try {
    const st = fstatSync(fd);
    if (st.isFIFO()) return "fifo";
    if (st.isFile()) return "file";
    if (st.isCharacterDevice()) return "char";
    if (st.isSocket()) return "socket";
    return "closed";
  } catch {
    return "closed";
  }
}

export function hostStdio(opts: {
  terminal: boolean;
  consoleSocket: string | undefined;
  workDir: string;
}): HostStdio {
  const self = `/proc/${process.pid}/fd`;
  if (!opts.terminal) {
    const out = (fd: number) => {
      const kind = fdKind(fd);
      if (kind === "closed") return "";
      if (kind === "socket")
        throw new Error(`fd ${fd} is a socket: tskata-runtime relays pipes, FIFOs, files and terminals`);
      return `${self}/${fd}`;
    };
    const inKind = fdKind(0);
    const stdin = inKind === "fifo" ? `${self}/0` : "";
    return { io: { stdin, stdout: out(1), stderr: out(2), terminal: false }, dispose: () => {} };
  }
  if (!opts.consoleSocket) throw new Error("a terminal was asked for but no --console-socket was given");
  const pty = openPty();
  const dir = mkdtempSync(join(opts.workDir, "tty-"));
  const fifo = join(dir, "stdin");
  let relayFd = -1;
  try {
    makeRaw(pty.slave);
    sendFd(opts.consoleSocket, pty.master, pty.slavePath);
    closeSync(pty.master);
    execFileSync("mkfifo", ["-m", "600", fifo]);
    // held read-write: opening never blocks, and the task layer's blocking read open returns
    relayFd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
    const fifoWriter = streamFromFd(relayFd, { readable: false, writable: true });
    const input = streamFromFd(pty.slave, { readable: true, writable: false });
    input.on("error", () => {});
    fifoWriter.on("error", () => {});
    input.pipe(fifoWriter);
    const slave = pty.slave;
    return {
      io: { stdin: fifo, stdout: pty.slavePath, stderr: "", terminal: true },
      windowSize: () => windowSize(slave),
      dispose: () => {
        input.destroy();
        fifoWriter.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    if (relayFd < 0) {
      closeSync(pty.slave);
      try {
        closeSync(pty.master);
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
