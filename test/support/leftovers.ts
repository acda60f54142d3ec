/**
 * What a sandbox could leave behind on the host, looked up from the outside: processes (QEMU,
 * virtiofsd, the shim) naming it, mounts below its directory, the directory itself, and the
 * shim's socket.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { sandboxSocketDir } from "../../shim/hypervisor/sandbox-resources.js";

export const STATE_DIR = "/run/tskata";

/** True while `pid` is a live process (a zombie counts as gone). */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/**
 * "PID CMDLINE" of every process but this one (the command line's NULs as spaces); a process
 * that went away meanwhile is left out.
 */
export function processLines(): string[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
    .flatMap((p) => {
      try {
        return [`${p} ${readFileSync(`/proc/${p}/cmdline`, "utf8").replaceAll("\0", " ")}`];
      } catch {
        return [];
      }
    });
}

/** QEMU and virtiofsd of a sandbox (whatever names its id, directory or socket directory). */
export function sandboxProcesses(sandboxId: string, stateDir = STATE_DIR): string[] {
  const marks = [
    `tskata-${sandboxId},`,
    `/sandboxes/${sandboxId}/`,
    `${sandboxSocketDir(stateDir, sandboxId)}/`,
  ];
  return processLines().filter((line) => marks.some((m) => line.includes(m)));
}

export function shimProcesses(taskId: string): string[] {
  return processLines().filter(
    (line) => line.includes("containerd-shim-tskata-v2") && line.includes(` -id ${taskId} `),
  );
}

export function sandboxMounts(sandboxId: string): string[] {
  const dir = join(STATE_DIR, "sandboxes", sandboxId);
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
}

/** Shim daemons serving a socket (the pod's, whatever task id started them). */
export function shimsServing(socket: string): string[] {
  return processLines().filter(
    (line) => line.includes("containerd-shim-tskata-v2") && line.includes(` -socket ${socket} `),
  );
}

export function leftovers(sandboxId: string, shimSocket?: string): string[] {
  const dir = join(STATE_DIR, "sandboxes", sandboxId);
  const socketDir = sandboxSocketDir(STATE_DIR, sandboxId);
  return [
    ...sandboxProcesses(sandboxId).map((p) => `process: ${p}`),
    ...shimProcesses(sandboxId).map((p) => `shim: ${p}`),
    ...(shimSocket ? shimsServing(shimSocket).map((p) => `shim: ${p}`) : []),
    ...sandboxMounts(sandboxId).map((m) => `mount: ${m}`),
    ...(existsSync(dir) ? [`dir: ${dir}`] : []),
    ...(existsSync(socketDir) ? [`socket dir: ${socketDir}`] : []),
    ...(shimSocket && existsSync(shimSocket) ? [`socket: ${shimSocket}`] : []),
  ];
}

/** Polls until nothing is left (cleanup is asynchronous after containerd's calls return). */
export async function expectNoLeftovers(
  sandboxId: string,
  shimSocket?: string,
  withinMs = 10_000,
): Promise<string[]> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const left = leftovers(sandboxId, shimSocket);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 200));
  }
}
