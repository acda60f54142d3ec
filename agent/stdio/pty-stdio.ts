/**
 * Terminal stdio of a process the agent spawns itself (debug exec): the agent opens the pty,
 * the process gets the slave as stdin/stdout/stderr, the agent keeps the master. Like
 * tty-stdio.ts otherwise: stdout carries the terminal, stderr is empty.
 *
 * The output's end is the process's exit, not the kernel's EIO on the master: the agent keeps a
 * slave fd of its own open while the process runs, so the master never sees the last slave
 * close while output is still queued (a short command's last lines were once cut off that way
 * in CI). After the exit, drained() reads what is queued without blocking, then closes both
 * ends. Output a background grandchild writes after the exit is not waited for.
 */
import { readSync } from "node:fs";
import type { Socket } from "node:net";
import { setWindowSize } from "../../native/console-socket.js";
import { streamFromFd as socketFromFd } from "../../native/fd-stream.js";
import { closeFd } from "../../native/process.js";
import { openPty } from "../../native/pty.js";
import { OutputBuffer } from "./output-buffer.js";
import type { ProcessStdio, StdinState } from "./process-stdio.js";
import { writeStdin } from "./process-stdio.js";

export function createPtyStdio(options: {
  rows: number;
  columns: number;
  bufferBytes?: number;
}): ProcessStdio {
  const pty = openPty();
  if (options.rows > 0 && options.columns > 0) setWindowSize(pty.master, options.rows, options.columns);
  const stdout = new OutputBuffer(options.bufferBytes);
  const stderr = new OutputBuffer(options.bufferBytes);
  stderr.end();
  let slaveOpen = true;
  const closeSlave = () => {
    if (!slaveOpen) return;
    slaveOpen = false;
    closeFd(pty.slave);
  };
  const master: Socket = socketFromFd(pty.master);
  let open = true;
  stdout.attach(master);
  const drainAfterExit = () => {
    if (!open) return;
    open = false;
    master.pause();
    // what the socket read but holds (when the buffer had paused it) comes first: read() emits
    // it as 'data', which the buffer takes
    while (master.read() !== null);
    // libuv made the master non-blocking: EAGAIN once the queue is empty (the line discipline
    // flushes pending input before it says so)
    const buf = Buffer.alloc(1 << 16);
    for (;;) {
      let n = 0;
      try {
        n = readSync(pty.master, buf, 0, buf.length, null);
      } catch {
        break;
      }
      if (n <= 0) break;
      stdout.push(Buffer.from(buf.subarray(0, n)));
    }
    closeSlave();
    master.destroy();
    stdout.end();
  };
  let stdin: StdinState = { kind: "open", socket: master };
  return {
    terminal: true,
    child: [pty.slave, pty.slave, pty.slave],
    consoleSocket: undefined,
    // the slave stays open until the exit (above); Node opened it close-on-exec, so no other
    // child the agent starts meanwhile holds it
    afterSpawn: () => undefined,
    ready: () => Promise.resolve(),
    stdout,
    stderr,
    write: (data) => writeStdin(stdin, data),
    closeStdin() {
      // a terminal has no half-close: send EOF (^D) as a terminal would
      if (stdin.kind === "open") stdin.socket.write(Buffer.from([4]));
      stdin = { kind: "closed" };
    },
    resize(rows, columns) {
      if (!open || master.destroyed) return;
      setWindowSize(pty.master, rows, columns);
    },
    // called once the process has exited (SupervisedProcess)
    drained: () => {
      drainAfterExit();
      return stdout.whenEnded();
    },
    destroy() {
      closeSlave();
      if (open) master.destroy();
      open = false;
      stdin = { kind: "closed" };
      stdout.close();
    },
  };
}
