/**
 * The host processes of one tskata pod and their memory: the shim that created the sandbox
 * (`owner` in `<state dir>/sandboxes/<id>/resources.json`), the QEMU and virtiofsd it recorded,
 * and every descendant of those (virtiofsd forks a worker), each counted once and sorted by role.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export type PodProcessRole = "shim" | "qemu" | "virtiofsd" | "other";

export interface PodProcess {
  pid: number;
  role: PodProcessRole;
  pssKiB: number;
  rssKiB: number;
}

interface ResourceRecordView {
  owner?: { pid: number };
  processes?: { pid: number; role: string }[];
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

/** Parent pid of every live process, from /proc/PID/stat (field 4, after comm's last ')'). */
function parents(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited while we looked
    }
  }
  return children;
}

function roleOf(pid: number): PodProcessRole {
  const cmd = cmdline(pid);
  if (cmd.includes("containerd-shim-tskata-v2")) return "shim";
  if (cmd.includes("qemu-system")) return "qemu";
  if (cmd.includes("virtiofsd")) return "virtiofsd";
  return "other";
}

/** Pss and Rss of a process in KiB, from smaps_rollup; zero for a process that is gone. */
export function memoryKiB(pid: number): { pssKiB: number; rssKiB: number } {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    return {
      pssKiB: Number(/^Pss:\s+(\d+) kB/m.exec(text)?.[1] ?? 0),
      rssKiB: Number(/^Rss:\s+(\d+) kB/m.exec(text)?.[1] ?? 0),
    };
  } catch {
    return { pssKiB: 0, rssKiB: 0 };
  }
}

/**
 * PSS in KiB of a process's mappings of guest RAM (QEMU's `memory-backend-memfd`, named
 * `/memfd:…` in smaps) — the rest of QEMU is its own heap and, under TCG, the translation cache.
 */
export function memfdPssKiB(pid: number): number {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, "utf8");
  } catch {
    return 0;
  }
  let inMemfd = false;
  let sum = 0;
  for (const line of text.split("\n")) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) inMemfd = (header[1] ?? "").startsWith("/memfd:");
    else if (inMemfd) {
      const pss = /^Pss:\s+(\d+) kB/.exec(line);
      if (pss) sum += Number(pss[1]);
    }
  }
  return sum;
}

/** User + system CPU time of a process (all its threads) in clock ticks, from /proc/PID/stat. */
export function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return 0;
  }
}

/**
 * Every host process of sandbox `sandboxId`. Throws when the sandbox has no record or its shim is
 * not running: a pod whose processes cannot be found must not count as a pod of zero bytes.
 */
export function podProcesses(stateDir: string, sandboxId: string): PodProcess[] {
  const recordPath = join(stateDir, "sandboxes", sandboxId, "resources.json");
  const record = JSON.parse(readFileSync(recordPath, "utf8")) as ResourceRecordView;
  const shim = record.owner?.pid;
  if (shim === undefined || roleOf(shim) !== "shim")
    throw new Error(`${recordPath}: its owner ${shim ?? "(none)"} is not a running tskata shim`);
  const roots = [shim, ...(record.processes ?? []).map((p) => p.pid)];
  const children = parents();
  const seen = new Set<number>();
  const queue = [...roots];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return [...seen].map((pid) => ({ pid, role: roleOf(pid), ...memoryKiB(pid) }));
}

/** The accelerator a running sandbox's QEMU uses, read from its command line (`-accel X[,…]`). */
export function qemuAccel(processes: readonly PodProcess[]): string {
  const qemu = processes.find((p) => p.role === "qemu");
  const m = qemu ? /(?:^| )-accel ([a-z]+)/.exec(cmdline(qemu.pid)) : null;
  return m?.[1] ?? "unknown";
}
