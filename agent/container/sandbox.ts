/**
 * The sandbox (pod) inside this VM: its network namespace shared by every container, guest
 * hostname, DNS, sysctls and the storages mounted for the whole pod.
 */
import { execFile } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { MountFlags, mount, UmountFlags, umount } from "../../native/mount.js";
import { createPersistentNetns } from "../../native/namespace.js";
import { sethostname } from "../../native/system.js";
import { ContainerError } from "./errors.js";

const execFileAsync = promisify(execFile);

export interface StorageSpec {
  driver: string;
  source: string;
  fstype: string;
  options: string[];
  mountPoint: string;
}

export interface SandboxSpec {
  id: string;
  hostname: string;
  dnsServers: string[];
  dnsSearch: string[];
  storages: StorageSpec[];
  sysctls: Record<string, string>;
}

export type SandboxState =
  | { kind: "absent" }
  | { kind: "ready"; id: string; netns: string; resolvConf: string; mounts: string[] };

export const SANDBOX_DIR = "/run/tskata/sandbox";

const FLAG_OPTIONS: Record<string, number> = {
  ro: MountFlags.RDONLY,
  nosuid: MountFlags.NOSUID,
  nodev: MountFlags.NODEV,
  noexec: MountFlags.NOEXEC,
  bind: MountFlags.BIND,
  rbind: MountFlags.BIND | MountFlags.REC,
  relatime: MountFlags.RELATIME,
  noatime: MountFlags.NOATIME,
};

/** Mounts one storage at its mount point; mount flags from options, the rest as data. */
export function mountStorage(s: StorageSpec): void {
  let flags = 0;
  const data: string[] = [];
  for (const o of s.options) {
    const f = FLAG_OPTIONS[o];
    if (f !== undefined) flags |= f;
    else if (o !== "rw") data.push(o);
  }
  if (s.driver === "bind") flags |= MountFlags.BIND;
  mkdirSync(s.mountPoint, { recursive: true });
  const fstype = s.driver === "bind" ? null : s.fstype || s.driver;
  try {
    mount({ source: s.source, target: s.mountPoint, fstype, flags, data: data.join(",") || null });
    if (s.driver === "bind" && flags & MountFlags.RDONLY)
      mount({
        source: null,
        target: s.mountPoint,
        fstype: null,
        flags: MountFlags.BIND | MountFlags.REMOUNT | MountFlags.RDONLY,
      });
  } catch (err) {
    throw new ContainerError(
      "ERR_SPEC_INVALID",
      `storage ${s.driver} ${s.source} on ${s.mountPoint}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

export function unmountQuietly(target: string): void {
  try {
    umount(target, UmountFlags.DETACH);
  } catch {
    // not mounted
  }
}

export async function createSandbox(spec: SandboxSpec, noInit: boolean): Promise<SandboxState> {
  mkdirSync(SANDBOX_DIR, { recursive: true });
  const netns = join(SANDBOX_DIR, "netns");
  createPersistentNetns(netns);
  await execFileAsync("/usr/bin/nsenter", [`--net=${netns}`, "/usr/bin/ip", "link", "set", "lo", "up"]);
  if (spec.hostname && !noInit) sethostname(spec.hostname);
  const resolvConf = join(SANDBOX_DIR, "resolv.conf");
  writeFileSync(
    resolvConf,
    [
      ...spec.dnsServers.map((s) => `nameserver ${s}`),
      ...(spec.dnsSearch.length ? [`search ${spec.dnsSearch.join(" ")}`] : []),
      "",
    ].join("\n"),
  );
  for (const [key, value] of Object.entries(spec.sysctls)) {
    if (!/^[\w.-]+$/.test(key)) throw new ContainerError("ERR_SPEC_INVALID", `sysctl ${key}: bad name`);
    writeFileSync(`/proc/sys/${key.replaceAll(".", "/")}`, value);
  }
  const mounts: string[] = [];
  for (const s of spec.storages) {
    mountStorage(s);
    mounts.push(s.mountPoint);
  }
  return { kind: "ready", id: spec.id, netns, resolvConf, mounts };
}

export function destroySandbox(state: SandboxState): void {
  if (state.kind !== "ready") return;
  for (const m of [...state.mounts].reverse()) unmountQuietly(m);
  unmountQuietly(state.netns);
  rmSync(SANDBOX_DIR, { recursive: true, force: true });
}
