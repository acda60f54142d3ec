/**
 * What a sandbox could leave behind on the host, looked up from the outside: processes (QEMU,
 * virtiofsd, the shim) naming it, mounts below its directory, the directory itself, and the
 * shim's socket.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { sandboxSocketDir } from "../../shim/hypervisor/sandbox-resources.js";

export const STATE_DIR = "/run/tskata";

function cmdline(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

export function sandboxProcesses(sandboxId: string): string[] {
  const marks = [
    `tskata-${sandboxId},`,
    `/sandboxes/${sandboxId}/`,
    `${sandboxSocketDir(STATE_DIR, sandboxId)}/`,
  ];
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
    .map((p) => `${p} ${cmdline(p)}`)
    .filter((line) => marks.some((m) => line.includes(m)));
}

export function shimProcesses(taskId: string): string[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .map((p) => `${p} ${cmdline(p)}`)
    .filter((line) => line.includes("containerd-shim-tskata-v2") && line.includes(` -id ${taskId} `));
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
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .map((p) => `${p} ${cmdline(p)}`)
    .filter((line) => line.includes("containerd-shim-tskata-v2") && line.includes(` -socket ${socket} `));
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
