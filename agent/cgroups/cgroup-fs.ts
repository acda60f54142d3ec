/** cgroup v2 files of a container: where its cgroup is, its processes, flat-keyed files. */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const CGROUP_ROOT = "/sys/fs/cgroup";
/** Parent of every container cgroup the agent creates (cgroupsPath /tskata/<id>). */
export const CONTAINERS_CGROUP = "tskata";
export const CONTROLLERS = ["cpu", "io", "memory", "pids"];

export function containerCgroupPath(id: string): string {
  return `/${CONTAINERS_CGROUP}/${id}`;
}

/** Enables the controllers for container cgroups below the root and /tskata. */
export function prepareCgroupParent(root = CGROUP_ROOT): void {
  const available = readFileSync(join(root, "cgroup.controllers"), "utf8").trim().split(/\s+/);
  const wanted = CONTROLLERS.filter((c) => available.includes(c));
  const enable = wanted.map((c) => `+${c}`).join(" ");
  writeFileSync(join(root, "cgroup.subtree_control"), enable);
  const parent = join(root, CONTAINERS_CGROUP);
  mkdirSync(parent, { recursive: true });
  writeFileSync(join(parent, "cgroup.subtree_control"), enable);
}

/** "key value" lines (memory.stat, cpu.stat, memory.events) as a map of bigint. */
export function parseFlatKeyed(text: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of text.split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v && /^\d+$/.test(v)) out.set(k, BigInt(v));
  }
  return out;
}

/** A single-value file: a number, or undefined for "max" (no limit) or a missing file. */
export function readValue(dir: string, file: string): bigint | undefined {
  try {
    const v = readFileSync(join(dir, file), "utf8").trim();
    return /^\d+$/.test(v) ? BigInt(v) : undefined;
  } catch {
    return undefined;
  }
}

export function readFlatKeyed(dir: string, file: string): Map<string, bigint> {
  try {
    return parseFlatKeyed(readFileSync(join(dir, file), "utf8"));
  } catch {
    return new Map();
  }
}

/** Every pid in the cgroup and its descendants. */
export function cgroupPids(dir: string): number[] {
  const pids: number[] = [];
  const walk = (d: string) => {
    let entries: import("node:fs").Dirent[];
    try {
      for (const p of readFileSync(join(d, "cgroup.procs"), "utf8").split("\n")) if (p) pids.push(Number(p));
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(join(d, e.name));
  };
  walk(dir);
  return pids;
}
