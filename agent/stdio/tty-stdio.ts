/**
 * Terminal stdio: crun allocates the pty in the container and sends its master over the
 * console socket; stdout carries the terminal, stderr is empty, stdin writes to the master.
 * Reading a master whose slave closed fails with EIO: that is the terminal's end of output.
 */
import type { Socket } from "node:net";
import { ConsoleSocket, setWindowSize } from "../../native/console-socket.js";
import { streamFromFd as socketFromFd } from "../../native/fd-stream.js";
import { ContainerError } from "../container/errors.js";
import { OutputBuffer } from "./output-buffer.js";
import type { ProcessStdio, StdinState } from "./process-stdio.js";
import { writeStdin } from "./process-stdio.js";

type Master = { kind: "waiting" } | { kind: "open"; fd: number; socket: Socket } | { kind: "closed" };

export function createTtyStdio(options: {
  socketPath: string;
  rows: number;
  columns: number;
  bufferBytes?: number;
}): ProcessStdio {
  const listener = new ConsoleSocket(options.socketPath);
  const received = listener.receiveFd();
  received.catch(() => undefined);
  const stdout = new OutputBuffer(options.bufferBytes);
  const stderr = new OutputBuffer(options.bufferBytes);
  stderr.end();
  let master: Master = { kind: "waiting" };
  let stdin: StdinState = { kind: "none" };
  return {
    terminal: true,
    child: ["ignore", "ignore", "ignore"],
    consoleSocket: options.socketPath,
    afterSpawn() {},
    async ready() {
      try {
        const fd = await received;
        if (options.rows > 0 && options.columns > 0) setWindowSize(fd, options.rows, options.columns);
        const socket = socketFromFd(fd);
        master = { kind: "open", fd, socket };
        stdout.attach(socket);
        stdin = { kind: "open", socket };
      } finally {
        listener.close();
      }
    },
    stdout,
    stderr,
    write: (data) => writeStdin(stdin, data),
    closeStdin() {
      // a terminal has no half-close: send EOF (^D) as a terminal would
      if (stdin.kind === "open") stdin.socket.write(Buffer.from([4]));
      stdin = { kind: "closed" };
    },
    resize(rows, columns) {
      if (master.kind === "waiting")
        throw new ContainerError("ERR_STDIO_UNAVAILABLE", "terminal is not open");
      // A pty whose process is gone (its master closed at EOF) has no size to set: not an error,
      // containerd resizes on its own schedule and may race the exit.
      if (master.kind === "closed" || master.socket.destroyed) return;
      setWindowSize(master.fd, rows, columns);
    },
    drained: () => stdout.whenEnded(),
    destroy() {
      listener.close();
      if (master.kind === "open") master.socket.destroy();
      master = { kind: "closed" };
      stdin = { kind: "closed" };
      stdout.close();
    },
  };
}
