/**
 * What a privileged container gets in the guest. runc gives a privileged container every device
 * node of the host and every capability containerd holds; in a VM the host's nodes mean nothing
 * (the shim drops `linux.devices`) and the host's capability set is not the guest kernel's, so a
 * privileged container gets the GUEST's instead: every block and char device under the agent's
 * /dev (devtmpfs), as containerd lists them for a host, and every capability the guest kernel
 * knows (`/proc/sys/kernel/cap_last_cap`) in its bounding, effective, permitted and inheritable
 * sets. (On a host without CAP_SYS_RESOURCE, containerd's "all capabilities" lacks it: the guest
 * has no reason to.)
 *
 * Which container is privileged (no annotation needed: `ctr run --privileged` is the same):
 * - its device cgroup allows every device (a wildcard `allow: true` rule no later wildcard rule
 *   denies): containerd's `WithAllDevicesAllowed`, written for a privileged container; or
 * - its spec has the shape runtimes give a privileged container (containerd's `WithPrivileged`,
 *   also with the CRI's `privileged_without_host_devices`, which drops the allow-all rule): a
 *   writable sysfs at /sys, no masked paths and no read-only paths. Unprivileged specs mount
 *   sysfs read-only.
 * Either way the container gets the guest's devices and a device cgroup allowing them: the
 * node's devices never enter the VM, so `privileged_without_host_devices` changes nothing here.
 */
import { type Dirent, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { OciSpec } from "../spec/types.js";

export interface OciDevice {
  path: string;
  type: "b" | "c";
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

interface DeviceRule {
  allow?: boolean;
  type?: string;
  major?: number | null;
  minor?: number | null;
  access?: string;
}

/** Directories of /dev that are not devices of their own (per-container mounts, fds) — as runc skips them. */
const SKIPPED_DIRS = new Set(["pts", "shm", "mqueue", "fd", "hugepages"]);
/**
 * Nodes crun creates itself or must stay the container's own: the console is the container's
 * terminal, ptmx the container's devpts.
 */
const SKIPPED_NODES = new Set(["/dev/console", "/dev/ptmx", "/dev/tty"]);

/** True when the spec's device cgroup allows every device: a privileged container. */
export function allowsEveryDevice(spec: OciSpec): boolean {
  const rules = (spec.linux?.resources?.["devices"] ?? []) as DeviceRule[];
  let allowed = false;
  for (const r of rules) {
    const wildcard = (r.type === undefined || r.type === "a") && r.major == null && r.minor == null;
    if (wildcard) allowed = r.allow === true && /r/.test(r.access ?? "rwm") && /w/.test(r.access ?? "rwm");
  }
  return allowed;
}

/** True for a privileged container's spec (see the file's comment for the two shapes). */
export function isPrivileged(spec: OciSpec): boolean {
  if (allowsEveryDevice(spec)) return true;
  const sysfs = (spec.mounts ?? []).find((m) => m.destination === "/sys");
  const writableSysfs = sysfs?.type === "sysfs" && !(sysfs.options ?? []).includes("ro");
  const masked = (spec.linux?.["maskedPaths"] ?? []) as unknown[];
  const readonly = (spec.linux?.["readonlyPaths"] ?? []) as unknown[];
  return writableSysfs && masked.length === 0 && readonly.length === 0;
}

/** The device cgroup rule of a privileged container: every device, read, write and mknod. */
export const ALL_DEVICES_ALLOWED = [{ allow: true, access: "rwm" }];

/** Linux's dev_t split (glibc's major()/minor()). */
function majorOf(rdev: number): number {
  return Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
}
function minorOf(rdev: number): number {
  return Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));
}

/** Every block and char device node under `root` (the guest's /dev), symlinks not followed. */
export function listGuestDevices(root = "/dev"): OciDevice[] {
  const devices: OciDevice[] = [];
  const walk = (dir: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // vanished or unreadable: not a device
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (!(dir === root && SKIPPED_DIRS.has(e.name))) walk(path);
        continue;
      }
      if (!(e.isBlockDevice() || e.isCharacterDevice()) || SKIPPED_NODES.has(path)) continue;
      try {
        const st = statSync(path);
        devices.push({
          path,
          type: st.isBlockDevice() ? "b" : "c",
          major: majorOf(st.rdev),
          minor: minorOf(st.rdev),
          fileMode: st.mode & 0o7777,
          uid: st.uid,
          gid: st.gid,
        });
      } catch {
        // vanished between readdir and stat
      }
    }
  };
  walk(root);
  return devices;
}

/** Capability names by number (linux/capability.h), as the runtime spec spells them. */
const CAPABILITY_NAMES = [
  "CHOWN",
  "DAC_OVERRIDE",
  "DAC_READ_SEARCH",
  "FOWNER",
  "FSETID",
  "KILL",
  "SETGID",
  "SETUID",
  "SETPCAP",
  "LINUX_IMMUTABLE",
  "NET_BIND_SERVICE",
  "NET_BROADCAST",
  "NET_ADMIN",
  "NET_RAW",
  "IPC_LOCK",
  "IPC_OWNER",
  "SYS_MODULE",
  "SYS_RAWIO",
  "SYS_CHROOT",
  "SYS_PTRACE",
  "SYS_PACCT",
  "SYS_ADMIN",
  "SYS_BOOT",
  "SYS_NICE",
  "SYS_RESOURCE",
  "SYS_TIME",
  "SYS_TTY_CONFIG",
  "MKNOD",
  "LEASE",
  "AUDIT_WRITE",
  "AUDIT_CONTROL",
  "SETFCAP",
  "MAC_OVERRIDE",
  "MAC_ADMIN",
  "SYSLOG",
  "WAKE_ALARM",
  "BLOCK_SUSPEND",
  "AUDIT_READ",
  "PERFMON",
  "BPF",
  "CHECKPOINT_RESTORE",
].map((n) => `CAP_${n}`);

/** Every capability a kernel whose last capability is `lastCap` knows (and this table names). */
export function allCapabilities(lastCap: number): string[] {
  return CAPABILITY_NAMES.slice(0, Math.min(lastCap, CAPABILITY_NAMES.length - 1) + 1);
}

/** The running (guest) kernel's last capability number. */
export function guestLastCapability(): number {
  return Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8").trim());
}

/** What a privileged container is given in the guest: its devices and capability list. */
export interface PrivilegedGrant {
  devices: OciDevice[];
  capabilities: string[];
}

/** Reads the guest's devices and capabilities (for a privileged container only). */
export function guestPrivileges(): PrivilegedGrant {
  return { devices: listGuestDevices(), capabilities: allCapabilities(guestLastCapability()) };
}

/** The capability sets a privileged process gets the full list in (ambient is left as asked). */
const GRANTED_SETS = ["bounding", "effective", "permitted", "inheritable"] as const;

/**
 * A process of a privileged container with `capabilities` in every set its spec has (its init, and
 * its execs: containerd builds an exec's process from the host spec, with the host's set).
 */
export function grantCapabilities(process: Record<string, unknown>, capabilities: readonly string[]): void {
  const caps = process["capabilities"] as Record<string, string[] | undefined> | undefined;
  if (!caps || capabilities.length === 0) return;
  for (const set of GRANTED_SETS) if (caps[set]) caps[set] = [...capabilities];
}
