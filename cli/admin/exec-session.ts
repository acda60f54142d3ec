/**
 * `tskata exec`: one debug process in the guest through the shim's admin socket. stdin is
 * forwarded (EOF closes the process's stdin); stdout and stderr are long-polled to EOF, then the
 * exit status is waited for and returned. With a terminal (stdin and stdout are TTYs): the
 * process gets a pty of the local size, the local terminal is put in raw mode for the session
 * (restored on every path), and SIGWINCH resizes the remote one.
 */
import type { Readable, Writable } from "node:stream";
import type { AdminApi } from "./admin-client.js";

export interface ExecTerminal {
  readonly isTTY?: boolean;
  setRawMode?(raw: boolean): unknown;
}

export interface ExecIo {
  stdin: Readable & ExecTerminal;
  stdout: Writable & { isTTY?: boolean; columns?: number; rows?: number };
  stderr: Writable;
  /** Calls `fn` when the local terminal is resized; returns the unsubscribe. */
  onResize(fn: () => void): () => void;
}

export interface ExecRequest {
  args: string[];
  /** Force a terminal (true) or none (false); undefined: a terminal when stdin and stdout are TTYs. */
  tty: boolean | undefined;
}

function write(stream: Writable, data: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => stream.write(data, (err) => (err ? reject(err) : resolve())));
}

export async function runExec(api: AdminApi, req: ExecRequest, io: ExecIo): Promise<number> {
  const terminal = req.tty ?? (io.stdin.isTTY === true && io.stdout.isTTY === true);
  const size = () => ({ rows: io.stdout.rows ?? 24, columns: io.stdout.columns ?? 80 });
  const { execId } = await api.debugExec({
    args: req.args,
    terminal,
    stdin: true,
    ...(terminal ? size() : {}),
    env: terminal ? [`TERM=${process.env["TERM"] ?? "xterm"}`] : [],
  });
  const raw = terminal && io.stdin.isTTY === true && typeof io.stdin.setRawMode === "function";
  if (raw) io.stdin.setRawMode?.(true);
  const unsubscribe = terminal
    ? io.onResize(() => void api.debugResize({ execId, ...size() }).catch(() => undefined))
    : () => {};
  const pumpStdin = async () => {
    try {
      for await (const chunk of io.stdin) {
        await api.debugWriteStdin({ execId, data: chunk as Uint8Array });
      }
      await api.debugCloseStdin({ execId });
    } catch {
      // the process is gone or its stdin closed: nothing more to forward
    }
  };
  const pumpOutput = async (stderr: boolean, to: Writable) => {
    for (;;) {
      const r = await api.debugReadOutput({ execId, stderr, maxBytes: 0 });
      if (r.data.length) await write(to, r.data);
      if (r.eof) return;
    }
  };
  try {
    void pumpStdin();
    await Promise.all([
      pumpOutput(false, io.stdout),
      terminal ? Promise.resolve() : pumpOutput(true, io.stderr),
    ]);
    const { exitStatus } = await api.debugWait({ execId });
    return exitStatus;
  } finally {
    unsubscribe();
    if (raw) io.stdin.setRawMode?.(false);
    io.stdin.destroy();
  }
}
