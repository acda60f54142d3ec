/**
 * `tskata list`: every sandbox under the state dir, asked for its Inspect (host figures only)
 * through its shim's admin socket, in parallel; a shim that does not answer is listed as such.
 * Rendering is a plain table (or the entries as JSON).
 */
import type { InspectResponse } from "../../protocol/generated/tskata/admin/v1/admin_pb.js";
import { type AdminConnection, connectAdmin } from "./admin-client.js";
import type { SandboxDir } from "./sandbox-dirs.js";

export interface ListEntry {
  id: string;
  adminSocket: string;
  /** The shim's answer; undefined when it did not answer. */
  inspect: InspectResponse | undefined;
  /** Why there is no answer. */
  error: string | undefined;
}

export type Connect = (socketPath: string, timeoutMs?: number) => Promise<AdminConnection>;

export async function gatherList(
  dirs: readonly SandboxDir[],
  opts: { connect?: Connect; timeoutMs?: number; skipGuest?: boolean } = {},
): Promise<ListEntry[]> {
  const connect = opts.connect ?? connectAdmin;
  const timeoutMs = opts.timeoutMs ?? 3000;
  return Promise.all(
    dirs.map(async (d): Promise<ListEntry> => {
      let conn: AdminConnection | undefined;
      try {
        conn = await connect(d.adminSocket, timeoutMs);
        const inspect = await conn.api.inspect({ skipGuest: opts.skipGuest ?? true }, { timeoutMs });
        return { id: d.id, adminSocket: d.adminSocket, inspect, error: undefined };
      } catch (err) {
        return { id: d.id, adminSocket: d.adminSocket, inspect: undefined, error: (err as Error).message };
      } finally {
        conn?.close();
      }
    }),
  );
}

export function formatBytes(bytes: number | bigint): string {
  const n = Number(bytes);
  if (n <= 0) return "-";
  const mib = n / (1024 * 1024);
  return mib >= 1024 ? `${(mib / 1024).toFixed(1)}GiB` : `${mib.toFixed(1)}MiB`;
}

export function formatUptime(seconds: number): string {
  if (!(seconds > 0)) return "-";
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

const HEADERS = ["SANDBOX", "POD", "CONTAINERS", "STATE", "ACCEL", "UPTIME", "PSS"] as const;

export function listRows(entries: readonly ListEntry[]): string[][] {
  return entries.map((e) => {
    const i = e.inspect;
    if (!i) return [e.id, "-", "-", "shim not answering", "-", "-", "-"];
    const pod = i.podName ? `${i.podNamespace}/${i.podName}` : "-";
    const containers = i.containers.map((c) => `${c.id}(${c.init?.state ?? "?"})`).join(",") || "-";
    return [
      e.id,
      pod,
      containers,
      i.state,
      i.accel || "-",
      formatUptime(i.uptimeSeconds),
      formatBytes(i.hostPssBytes),
    ];
  });
}

/** A left-aligned table with a header; the last column is not padded. */
export function renderTable(headers: readonly string[], rows: readonly string[][]): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, c) => (c === cells.length - 1 ? cell : cell.padEnd(widths[c]!)))
      .join("  ")
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join("\n")}\n`;
}

export function renderList(entries: readonly ListEntry[]): string {
  return renderTable(HEADERS, listRows(entries));
}
