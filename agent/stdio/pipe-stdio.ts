/** Pipe stdio: the process writes into pipes whose read ends the agent buffers. */

import { streamFromFd as socketFromFd } from "../../native/fd-stream.js";
import { closeFd, pipe, setPipeSize } from "../../native/process.js";
import { OutputBuffer } from "./output-buffer.js";
import { type ChildStdio, type ProcessStdio, type StdinState, writeStdin } from "./process-stdio.js";

const PIPE_BYTES = 1 << 20;

export function createPipeStdio(options: { stdin: boolean; bufferBytes?: number }): ProcessStdio {
  const opened: number[] = [];
  const mk = () => {
    const p = pipe();
    opened.push(...p);
    setPipeSize(p[0], PIPE_BYTES);
    return p;
  };
  try {
    const stdinPipe = options.stdin ? mk() : undefined;
    const outPipe = mk();
    const errPipe = mk();
    const stdout = new OutputBuffer(options.bufferBytes);
    const stderr = new OutputBuffer(options.bufferBytes);
    let stdin: StdinState = { kind: "none" };
    const child: ChildStdio = [stdinPipe ? stdinPipe[0] : "ignore", outPipe[1], errPipe[1]];
    let childEndsOpen = true;
    const closeChildEnds = () => {
      if (!childEndsOpen) return;
      childEndsOpen = false;
      for (const fd of child) if (typeof fd === "number") closeFd(fd);
    };
    const outSocket = socketFromFd(outPipe[0], { readable: true, writable: false });
    const errSocket = socketFromFd(errPipe[0], { readable: true, writable: false });
    stdout.attach(outSocket);
    stderr.attach(errSocket);
    if (stdinPipe) {
      const socket = socketFromFd(stdinPipe[1], { readable: false, writable: true });
      socket.on("error", () => {
        stdin = { kind: "closed" };
      });
      stdin = { kind: "open", socket };
    }
    return {
      terminal: false,
      child,
      consoleSocket: undefined,
      afterSpawn: closeChildEnds,
      ready: () => Promise.resolve(),
      stdout,
      stderr,
      write: (data) => writeStdin(stdin, data),
      closeStdin() {
        if (stdin.kind === "open") stdin.socket.end();
        stdin = { kind: "closed" };
      },
      resize() {
        // no terminal: nothing to size (the RPC edge refuses before getting here)
      },
      drained: () => Promise.all([stdout.whenEnded(), stderr.whenEnded()]).then(() => undefined),
      destroy() {
        closeChildEnds();
        if (stdin.kind === "open") stdin.socket.destroy();
        stdin = { kind: "closed" };
        stdout.close();
        stderr.close();
      },
    };
  } catch (err) {
    for (const fd of opened) closeFd(fd);
    throw err;
  }
}
