/**
 * A client of the CRI streaming server's exec (the URL CRI's Exec answers), over WebSocket with the
 * `v4.channel.k8s.io` protocol the kubelet's streaming library serves for remote commands: every
 * binary message starts with its channel byte — 0 stdin, 1 stdout, 2 stderr, 3 error/status (one
 * JSON `metav1.Status` when the command ends), 4 resize (JSON `{"Width","Height"}`). v4 has no
 * half-close of stdin: closing the WebSocket is how a client ends its stdin.
 */
import WebSocket from "ws";

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const STATUS = 3;
export const RESIZE = 4;

/** The v4 status the server sends on channel 3 when the command ends. */
export interface ExecStatus {
  status?: string;
  reason?: string;
  message?: string;
  details?: { causes?: { reason?: string; message?: string }[] };
}

export interface ExecStreamResult {
  stdout: string;
  stderr: string;
  /** The status JSON from channel 3; undefined when the connection closed without one. */
  status: ExecStatus | undefined;
}

/** The exit code a status reports: 0 on Success, the ExitCode cause on NonZeroExitCode. */
export function exitCodeOf(status: ExecStatus | undefined): number | undefined {
  if (!status) return undefined;
  if (status.status === "Success") return 0;
  const cause = status.details?.causes?.find((c) => c.reason === "ExitCode");
  return cause?.message === undefined ? undefined : Number(cause.message);
}

export interface ExecSession {
  /** Sends bytes on stdin. */
  write(data: string | Buffer): void;
  /** Sends a terminal size on the resize channel. */
  resize(width: number, height: number): void;
  /** Resolves once stdout holds `text` (what arrived so far). */
  waitForStdout(text: string, timeoutMs?: number): Promise<string>;
  /** Closes the WebSocket (the client's only way to end stdin in v4). */
  close(): void;
  /** Everything received until the server or the client closed the connection. */
  done: Promise<ExecStreamResult>;
}

/** Opens an exec stream; resolves once the WebSocket is open. */
export function openExecStream(url: string, timeoutMs = 30_000): Promise<ExecSession> {
  return new Promise((resolveOpen, rejectOpen) => {
    const ws = new WebSocket(url, ["v4.channel.k8s.io"]);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const statusChunks: Buffer[] = [];
    /** Pending waitForStdout calls; each returns true once satisfied. */
    const stdoutWaiters = new Set<() => boolean>();
    let opened = false;
    let settle: (r: ExecStreamResult) => void = () => undefined;
    let fail: (e: Error) => void = () => undefined;
    const done = new Promise<ExecStreamResult>((res, rej) => {
      settle = res;
      fail = rej;
    });
    done.catch(() => undefined);
    const timer = setTimeout(() => {
      ws.terminate();
      fail(
        new Error(
          `exec stream ${url}: not closed within ${timeoutMs} ms (stdout so far: ${JSON.stringify(Buffer.concat(out).toString())})`,
        ),
      );
    }, timeoutMs);
    const send = (channel: number, data: string | Buffer) =>
      ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(data)]));
    ws.on("open", () => {
      opened = true;
      resolveOpen({
        write: (data) => send(STDIN, data),
        resize: (width, height) => send(RESIZE, JSON.stringify({ Width: width, Height: height })),
        waitForStdout: (text, waitMs = 15_000) =>
          new Promise((res, rej) => {
            const check = (): boolean => {
              const so = Buffer.concat(out).toString();
              if (!so.includes(text)) return false;
              stdoutWaiters.delete(check);
              clearTimeout(t);
              res(so);
              return true;
            };
            const t = setTimeout(() => {
              stdoutWaiters.delete(check);
              rej(
                new Error(
                  `exec stream: stdout never held ${JSON.stringify(text)}: ${JSON.stringify(Buffer.concat(out).toString())}`,
                ),
              );
            }, waitMs);
            if (!check()) stdoutWaiters.add(check);
          }),
        close: () => ws.close(),
        done,
      });
    });
    ws.on("message", (raw: Buffer) => {
      const payload = raw.subarray(1);
      if (raw[0] === STDOUT) {
        out.push(payload);
        for (const waiter of [...stdoutWaiters]) waiter();
      } else if (raw[0] === STDERR) err.push(payload);
      else if (raw[0] === STATUS) statusChunks.push(payload);
    });
    ws.on("error", (e) => {
      clearTimeout(timer);
      if (!opened) rejectOpen(e);
      fail(e);
    });
    ws.on("close", () => {
      clearTimeout(timer);
      const statusText = Buffer.concat(statusChunks).toString();
      settle({
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
        status: statusText ? (JSON.parse(statusText) as ExecStatus) : undefined,
      });
    });
  });
}
