/**
 * Terminal stdio of a process the agent spawns itself (debug exec): the agent opens the pty,
 * the process gets the slave as stdin/stdout/stderr, the agent keeps the master. Like
 * tty-stdio.ts otherwise: stdout carries the terminal, stderr is empty, EIO on the master is EOF.
 */
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
  let stdin: StdinState = { kind: "open", socket: master };
  return {
    terminal: true,
    child: [pty.slave, pty.slave, pty.slave],
    consoleSocket: undefined,
    afterSpawn: closeSlave,
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
    drained: () => stdout.whenEnded(),
    destroy() {
      closeSlave();
      if (open) master.destroy();
      open = false;
      stdin = { kind: "closed" };
      stdout.close();
    },
  };
}
