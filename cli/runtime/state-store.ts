/**
 * A container's record under `--root/<id>/`: `state.json` (written by its stand-in, read by every
 * command, so it survives the caller restarting) and `ctl` (the stand-in's control socket).
 * Liveness is the stand-in's pid (and its start time, against pid reuse): a record whose
 * stand-in is gone reads as stopped.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { notFound } from "./errors.js";

export const DEFAULT_ROOT = "/run/tskata-runtime";

export type ContainerStatus = "creating" | "created" | "running" | "paused" | "stopped";

export interface ContainerRecord {
  ociVersion: string;
  id: string;
  status: ContainerStatus;
  /** The stand-in's host pid: the container's init as the caller sees it. */
  pid: number;
  /** /proc/<pid>/stat start time of the stand-in (guards against pid reuse). */
  pidStart: string;
  bundle: string;
  annotations: Record<string, string>;
  /** ISO time the container was created. */
  created: string;
  /** The guest process's exit status once it ended. */
  exitStatus?: number;
  /** The container's host cgroup directories (host-cgroup.ts), removed by `delete`. */
  hostCgroups?: string[];
}

export const containerDir = (root: string, id: string) => join(root, id);
export const controlSocket = (root: string, id: string) => join(root, id, "ctl");
export const stateFile = (root: string, id: string) => join(root, id, "state.json");

/** Field 22 of /proc/<pid>/stat (start time in clock ticks), "" when the pid does not exist. */
export function processStartTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state); start time is field 22
    if (fields[0] === "Z" || fields[0] === "X") return "";
    return fields[19] ?? "";
  } catch {
    return "";
  }
}

export function writeRecord(root: string, record: ContainerRecord): void {
  const file = stateFile(root, record.id);
  writeFileSync(`${file}.tmp`, JSON.stringify(record));
  renameSync(`${file}.tmp`, file);
}

/** The record as written, or undefined when there is none. */
export function readRecord(root: string, id: string): ContainerRecord | undefined {
  try {
    return JSON.parse(readFileSync(stateFile(root, id), "utf8")) as ContainerRecord;
  } catch {
    return undefined;
  }
}

export function standinAlive(record: ContainerRecord): boolean {
  return record.pid > 0 && processStartTime(record.pid) === record.pidStart;
}

/** The record with its status checked against the stand-in's liveness; throws when absent. */
export function loadContainer(root: string, id: string): ContainerRecord {
  const record = readRecord(root, id);
  if (!record) throw notFound();
  if (record.status !== "stopped" && !standinAlive(record)) return { ...record, status: "stopped" };
  return record;
}

export function exists(root: string, id: string): boolean {
  return existsSync(containerDir(root, id));
}

export function makeContainerDir(root: string, id: string): void {
  mkdirSync(root, { recursive: true, mode: 0o711 });
  mkdirSync(containerDir(root, id), { mode: 0o711 });
}

export function removeContainerDir(root: string, id: string): void {
  rmSync(containerDir(root, id), { recursive: true, force: true });
}

export function listIds(root: string): string[] {
  try {
    return readdirSync(root).filter((n) => existsSync(stateFile(root, n)));
  } catch {
    return [];
  }
}
