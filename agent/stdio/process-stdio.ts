/**
 * The stdio of one container process as the agent holds it: what crun is given (three fds, or a
 * console socket for a terminal), and the agent's ends — a writable stdin and two bounded output
 * buffers read by long-poll.
 */
import type { Socket } from "node:net";
import { ContainerError } from "../container/errors.js";
import type { OutputBuffer, ReadResult } from "./output-buffer.js";

/** What a crun invocation gets as its stdio: fds to hand to spawn, or "ignore" (/dev/null). */
export type ChildStdio = [number | "ignore", number | "ignore", number | "ignore"];

export interface ProcessStdio {
  readonly terminal: boolean;
  /** stdio for the crun call that creates the process. */
  readonly child: ChildStdio;
  /** The --console-socket path (terminal only). */
  readonly consoleSocket: string | undefined;
  /** After crun has been spawned: close the agent's copies of the child ends. */
  afterSpawn(): void;
  /** After crun returned success: the terminal's master has arrived (no-op for pipes). */
  ready(): Promise<void>;
  readonly stdout: OutputBuffer;
  readonly stderr: OutputBuffer;
  write(data: Uint8Array): Promise<number>;
  closeStdin(): void;
  resize(rows: number, columns: number): void;
  /** Resolves once every output source has ended (all output is in the buffers). */
  drained(): Promise<void>;
  /** Closes everything (after the process is gone and the host is done). */
  destroy(): void;
}

export type StdinState = { kind: "none" } | { kind: "open"; socket: Socket } | { kind: "closed" };

/** Writes to a stdin socket, resolving once the bytes were handed to the kernel. */
export function writeStdin(state: StdinState, data: Uint8Array): Promise<number> {
  if (state.kind !== "open")
    return Promise.reject(
      new ContainerError(
        "ERR_STDIO_UNAVAILABLE",
        state.kind === "none" ? "process has no stdin (stdio.stdin was false)" : "stdin is closed",
      ),
    );
  const socket = state.socket;
  return new Promise((resolve, reject) => {
    socket.write(data, (err) =>
      err
        ? reject(new ContainerError("ERR_STDIO_UNAVAILABLE", `stdin: ${err.message}`))
        : resolve(data.length),
    );
  });
}

export function emptyRead(): ReadResult {
  return { data: Buffer.alloc(0), eof: true };
}
