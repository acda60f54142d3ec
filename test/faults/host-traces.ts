/**
 * What a sandbox leaves on the host, read from /proc, mountinfo and /sys for any runtime.state_dir
 * (test/support/leftovers.ts assumes the default one): processes naming the sandbox, mounts and
 * directories below its state, its sockets, host network links made since a baseline (taps),
 * and FIFOs or sandbox files any process still holds open.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { sandboxSocketDir } from "../../shim/hypervisor/sandbox-resources.js";
import { processLines, shimsServing } from "../support/leftovers.js";

export interface TraceScope {
  stateDir: string;
  sandboxId: string;
  /** The shim's socket (containerd's address + namespace + group). */
  shimSocket: string;
  /** Directories whose FIFOs the task's stdio used: no process may hold one open. */
  fifoDirs: string[];
  /** Host links present before the sandbox started: any new one is a leaked tap or veth. */
  linksBefore: ReadonlySet<string>;
}

function pids(): string[] {
  return readdirSync("/proc").filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid);
}

/** "pid cmdline" of every process naming the sandbox: QEMU, virtiofsd, a shim for its id. */
export function sandboxProcessLines(stateDir: string, sandboxId: string): string[] {
  const marks = [
    `tskata-${sandboxId},`,
    `/sandboxes/${sandboxId}/`,
    `${sandboxSocketDir(stateDir, sandboxId)}/`,
    ` -id ${sandboxId} `,
  ];
  return processLines().filter((line) => marks.some((m) => line.includes(m)));
}

/** The pid of the sandbox's process whose program includes `what` (qemu-system, virtiofsd). */
export function sandboxPid(stateDir: string, sandboxId: string, what: string): number | undefined {
  // the program (argv[0]) names it: a sandbox id may contain "virtiofsd" too
  const line = sandboxProcessLines(stateDir, sandboxId).find((l) => (l.split(" ")[1] ?? "").includes(what));
  return line ? Number(line.split(" ")[0]) : undefined;
}

/** The shim daemon serving `socket`. */
export function shimPid(socket: string): number | undefined {
  const line = shimsServing(socket)[0];
  return line ? Number(line.split(" ")[0]) : undefined;
}

export function hostLinks(): Set<string> {
  return new Set(readdirSync("/sys/class/net"));
}

function openFilesUnder(prefixes: string[]): string[] {
  const found: string[] = [];
  for (const p of pids()) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${p}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${p}/fd/${fd}`);
      } catch {
        continue;
      }
      if (prefixes.some((d) => target.startsWith(d))) found.push(`${p} fd ${fd} → ${target}`);
    }
  }
  return found;
}

export function traces(s: TraceScope): string[] {
  const dir = join(s.stateDir, "sandboxes", s.sandboxId);
  const socketDir = sandboxSocketDir(s.stateDir, s.sandboxId);
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
  const newLinks = [...hostLinks()].filter((l) => !s.linksBefore.has(l));
  return [
    ...sandboxProcessLines(s.stateDir, s.sandboxId).map((p) => `process: ${p}`),
    ...(shimPid(s.shimSocket) ? [`shim: ${shimPid(s.shimSocket)}`] : []),
    ...mounts.map((m) => `mount: ${m}`),
    ...(existsSync(dir) ? [`dir: ${dir}`] : []),
    ...(existsSync(socketDir) ? [`socket dir: ${socketDir}`] : []),
    ...(existsSync(s.shimSocket) ? [`socket: ${s.shimSocket}`] : []),
    ...newLinks.map((l) => `link: ${l}`),
    ...openFilesUnder([...s.fifoDirs.map((d) => `${d}/`), `${dir}/`, `${socketDir}/`]).map(
      (f) => `open: ${f}`,
    ),
  ];
}

/** Polls until nothing is left; the figure is when that happened (or the deadline passed). */
export async function untilClean(s: TraceScope, deadline: number): Promise<{ left: string[]; at: number }> {
  for (;;) {
    const left = traces(s);
    if (left.length === 0 || Date.now() > deadline) return { left, at: Date.now() };
    await new Promise((r) => setTimeout(r, 50));
  }
}
