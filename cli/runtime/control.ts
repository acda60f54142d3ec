/**
 * The stand-in's control socket: one JSON request per connection, one JSON answer back. The
 * commands (`start`, `kill`, `exec`, `pause` …) are clients; the stand-in serves.
 */
import { createConnection, createServer, type Server } from "node:net";
import { RuntimeError } from "./errors.js";

export type ControlRequest =
  | { op: "start" }
  | { op: "kill"; signal: number; all: boolean; execId?: string }
  | { op: "pause" }
  | { op: "resume" }
  | { op: "update"; resourcesJson: string }
  | { op: "stats" }
  | { op: "pids" }
  | { op: "destroy" }
  /** An exec whose stdio is the fds of host process `standinPid` (paths it opens). */
  | {
      op: "exec";
      execId: string;
      processJson: string;
      stdin: string;
      stdout: string;
      stderr: string;
      terminal: boolean;
    }
  | { op: "wait-exec"; execId: string }
  | { op: "resize"; execId: string; rows: number; columns: number };

export type ControlAnswer = { ok: true; value?: unknown } | { ok: false; error: string };

export async function callControl(
  socket: string,
  request: ControlRequest,
  timeoutMs = 120_000,
): Promise<unknown> {
  const answer = await new Promise<ControlAnswer>((resolve, reject) => {
    const conn = createConnection(socket);
    let buf = "";
    const timer = setTimeout(() => {
      conn.destroy();
      reject(
        new RuntimeError(
          "RUNTIME_FAILED",
          `container stand-in did not answer ${request.op} in ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    if (request.op === "wait-exec") clearTimeout(timer);
    conn.on("connect", () => conn.write(`${JSON.stringify(request)}\n`));
    conn.on("data", (d) => {
      buf += d.toString("utf8");
    });
    conn.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        err.code === "ENOENT" || err.code === "ECONNREFUSED"
          ? new RuntimeError("RUNTIME_WRONG_STATE", "container not running")
          : err,
      );
    });
    conn.on("close", () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf) as ControlAnswer);
      } catch {
        reject(new RuntimeError("RUNTIME_FAILED", `container stand-in went away during ${request.op}`));
      }
    });
  });
  if (!answer.ok) throw new RuntimeError("RUNTIME_FAILED", answer.error);
  return answer.value;
}

export function serveControl(path: string, handle: (request: ControlRequest) => Promise<unknown>): Server {
  const server = createServer((conn) => {
    let buf = "";
    conn.on("error", () => {});
    conn.on("data", (d) => {
      buf += d.toString("utf8");
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      let request: ControlRequest;
      try {
        request = JSON.parse(buf.slice(0, nl)) as ControlRequest;
      } catch {
        conn.end(JSON.stringify({ ok: false, error: "malformed control request" }));
        return;
      }
      handle(request).then(
        (value) => conn.end(JSON.stringify({ ok: true, value })),
        (err: unknown) =>
          conn.end(JSON.stringify({ ok: false, error: (err as Error).message ?? String(err) })),
      );
    });
  });
  server.listen(path);
  return server;
}
