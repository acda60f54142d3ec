/**
 * Shared pieces of the runc-caller suites (test/e2e/oci-*.test.ts): the built `tskata-runtime`,
 * the busybox image's name, and what a container could leave on the host once its caller removed
 * it — its VM's processes and mounts (test/support/leftovers.ts), any host process, mount or
 * cgroup naming it, and its record under the runtime's `--root`.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { leftovers, processLines } from "./leftovers.js";

export const REPO = join(import.meta.dirname, "../..");
export const RUNTIME = join(REPO, "dist/cli/runtime/main.js");
export const IMAGE = "localhost/busybox:latest";
/** One container boot under TCG plus its caller's own work. */
export const VM_MS = 240_000;
/** The guest's kernel: Debian's cloud kernel, never the host's. */
export const GUEST_KERNEL = /^6\.1\.0-.*-cloud-amd64$/;
export const HOST_KERNEL = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();

/** A long-running guest process that reports USR1 and survives TERM (so a stop escalates to KILL). */
export const TRAP_SCRIPT =
  'trap "echo got-usr1" USR1; trap "echo got-term" TERM; echo started; while true; do sleep 0.2; done';

/** A guest web server: prints eth0's IPv4 address and the kernel, then serves one page on 8080. */
export const WEB_SCRIPT =
  "mkdir /www; echo served-from-the-vm > /www/index.html; ip -4 -o addr show eth0; uname -r; httpd -f -p 8080 -h /www";

/**
 * Proves a WEB_SCRIPT container on a bridge network: the host gets its page at `ip` (within 20 s),
 * and its log shows that address on the guest's eth0 and the guest's kernel.
 */
export async function expectWebFromGuest(ip: string, logs: () => Promise<string>): Promise<void> {
  let body = "";
  for (let i = 0; i < 100 && body === ""; i++) {
    body = await fetch(`http://${ip}:8080/`, { signal: AbortSignal.timeout(2000) })
      .then((r) => r.text())
      .catch(() => "");
    if (body === "") await new Promise((r) => setTimeout(r, 200));
  }
  expect(body).toBe("served-from-the-vm\n");
  const text = await logs();
  expect(text).toContain(`inet ${ip}/24`);
  expect(text.split("\n")[1]).toMatch(GUEST_KERNEL);
}

/** The output of `echo hi; uname -r; …`: asserts the first two lines (the guest's kernel, not the host's), returns the rest. */
export function expectHiFromGuest(stdout: string): string[] {
  const [hi, kernel, ...rest] = stdout.split("\n");
  expect(hi).toBe("hi");
  expect(kernel).toMatch(GUEST_KERNEL);
  expect(kernel).not.toBe(HOST_KERNEL);
  return rest;
}

/** Compiles the tree: the callers exec dist/cli/runtime/main.js. */
export function buildRuntime(): void {
  execFileSync(join(REPO, "node_modules/.bin/tsc"), ["-p", "tsconfig.build.json"], { cwd: REPO });
}

/** QEMU, virtiofsd or stand-in processes whose command line names the container `id`. */
export function hostProcessesNaming(id: string): string[] {
  return processLines()
    .map((line) => [line.slice(0, line.indexOf(" ")), line.slice(line.indexOf(" ") + 1)] as const)
    .filter(([, cmd]) => cmd.includes(id) && /qemu-system|virtiofsd|_standin/.test(cmd))
    .map(([pid, cmd]) => `${pid} ${cmd.slice(0, 200)}`);
}

/** Mount points naming `id` (the VM's shared rootfs, a caller's overlay left mounted). */
export function mountsNaming(id: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m.includes(id));
}

const subdirs = (dir: string): string[] => {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join(dir, e.name));
  } catch {
    return [];
  }
};

/**
 * Host cgroups naming `id` (runc's `/docker/<id>`, podman's `/libpod_parent/libpod-<id>`,
 * ctr's `/default/<id>`): two levels below the cgroup v2 root or each v1 controller.
 */
export function cgroupsNaming(id: string): string[] {
  const root = "/sys/fs/cgroup";
  const tops = existsSync(join(root, "cgroup.controllers")) ? [root] : subdirs(root);
  return tops
    .flatMap((t) => subdirs(t))
    .flatMap((parent) => [parent, ...subdirs(parent)])
    .filter((d) => d.slice(d.lastIndexOf("/") + 1).includes(id));
}

/**
 * Everything of container `id` still on the host, with the runtime's `--root` given: below it,
 * any entry named like the id (its directory, or a socket bound at a truncated path).
 */
export function containerLeftovers(id: string, runtimeRoot: string): string[] {
  const under = existsSync(runtimeRoot)
    ? readdirSync(runtimeRoot).filter((n) => n.startsWith(id.slice(0, 12)))
    : [];
  return [
    ...leftovers(id),
    ...hostProcessesNaming(id).map((p) => `process: ${p}`),
    ...mountsNaming(id).map((m) => `mount: ${m}`),
    ...cgroupsNaming(id).map((c) => `cgroup: ${c}`),
    ...under.map((n) => `under --root: ${join(runtimeRoot, n)}`),
  ];
}

/** Polls until nothing of `id` is left (callers finish their cleanup after they return). */
export async function waitForNoLeftovers(
  id: string,
  runtimeRoot: string,
  withinMs = 10_000,
): Promise<string[]> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const left = containerLeftovers(id, runtimeRoot);
    if (left.length === 0 || Date.now() > deadline) return [...new Set(left)];
    await new Promise((r) => setTimeout(r, 200));
  }
}
