/**
 * The stand-in's control socket: one JSON request per connection, one JSON answer back. The
 * commands (`start`, `kill`, `exec`, `pause` …) are clients; the stand-in serves.
 */
import { closeSync, openSync } from "node:fs";
import { createConnection, createServer, type Server } from "node:net";
import { basename, dirname } from "node:path";
import { RuntimeError } from "./errors.js";

/**
 * sun_path holds 108 bytes and Node (libuv) silently truncates a longer socket path: dockerd's
 * `--root` (`<exec-root>/runtime-runc/moby`) plus a 64-hex id plus `/ctl` is longer than that, so
 * the socket was bound at a truncated name beside the container's directory and outlived it.
 * The socket is reached through a directory fd instead (`/proc/self/fd/N/ctl`), a short path
 * whatever the directory's length. The fd stays open while the path is in use.
 */
export function viaDirFd(path: string): { path: string; close(): void } {
  const fd = openSync(dirname(path), "r");
  let open = true;
  return {
    path: `/proc/self/fd/${fd}/${basename(path)}`,
    close: () => {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

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
  let short: ReturnType<typeof viaDirFd>;
  try {
    short = viaDirFd(socket);
  } catch {
    throw new RuntimeError("RUNTIME_WRONG_STATE", "container not running");
  }
  const answer = await new Promise<ControlAnswer>((resolve, reject) => {
    const conn = createConnection(short.path);
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
      short.close();
      reject(
        err.code === "ENOENT" || err.code === "ECONNREFUSED"
          ? new RuntimeError("RUNTIME_WRONG_STATE", "container not running")
          : err,
      );
    });
    conn.on("close", () => {
      clearTimeout(timer);
      short.close();
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
  // the directory fd stays open until the server closes: libuv unlinks the socket by that path
  const short = viaDirFd(path);
  server.once("close", () => short.close());
  server.listen(short.path);
  return server;
}
