import { mkdirSync, readFileSync } from "node:fs";
import { MountFlags, mount } from "../../native/mount.js";
import { AgentError } from "../errors.js";

export interface MountSpec {
  source: string;
  target: string;
  fstype: string;
  flags: number;
  data?: string;
}

const { NOSUID, NODEV, NOEXEC, RELATIME } = MountFlags;

/**
 * The agent's early mounts, in order. The root filesystem is read-only: everything the guest
 * writes goes to tmpfs (/run, /tmp, /dev/shm).
 */
export const EARLY_MOUNTS: readonly MountSpec[] = [
  { source: "proc", target: "/proc", fstype: "proc", flags: NOSUID | NODEV | NOEXEC | RELATIME },
  { source: "sysfs", target: "/sys", fstype: "sysfs", flags: NOSUID | NODEV | NOEXEC | RELATIME },
  { source: "devtmpfs", target: "/dev", fstype: "devtmpfs", flags: NOSUID | RELATIME, data: "mode=0755" },
  {
    source: "devpts",
    target: "/dev/pts",
    fstype: "devpts",
    flags: NOSUID | NOEXEC | RELATIME,
    data: "newinstance,ptmxmode=0666,mode=0620,gid=5",
  },
  { source: "shm", target: "/dev/shm", fstype: "tmpfs", flags: NOSUID | NODEV | RELATIME, data: "mode=1777" },
  { source: "tmpfs", target: "/run", fstype: "tmpfs", flags: NOSUID | NODEV | RELATIME, data: "mode=0755" },
  { source: "tmpfs", target: "/tmp", fstype: "tmpfs", flags: NOSUID | NODEV | RELATIME, data: "mode=1777" },
  {
    source: "cgroup2",
    target: "/sys/fs/cgroup",
    fstype: "cgroup2",
    flags: NOSUID | NODEV | NOEXEC | RELATIME,
    data: "nsdelegate",
  },
];

/** Mount points listed in a mountinfo text (field 5), with octal escapes decoded. */
export function parseMountPoints(mountinfo: string): Set<string> {
  const points = new Set<string>();
  for (const line of mountinfo.split("\n")) {
    const fields = line.split(" ");
    if (fields.length > 4)
      points.add(
        fields[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))),
      );
  }
  return points;
}

function currentMountPoints(): Set<string> {
  try {
    return parseMountPoints(readFileSync("/proc/self/mountinfo", "utf8"));
  } catch {
    return new Set(); // /proc not mounted yet
  }
}

/**
 * Mounts each spec whose target is not yet a mount point (the initramfs moves /proc, /sys and
 * /dev over; the rest is new). Returns the targets it mounted.
 */
export function mountEarly(specs: readonly MountSpec[] = EARLY_MOUNTS): string[] {
  const done: string[] = [];
  let mounted = currentMountPoints();
  for (const spec of specs) {
    if (mounted.has(spec.target)) continue;
    try {
      mkdirSync(spec.target, { recursive: true });
      mount({
        source: spec.source,
        target: spec.target,
        fstype: spec.fstype,
        flags: spec.flags,
        data: spec.data ?? null,
      });
    } catch (cause) {
      throw new AgentError(
        "ERR_AGENT_MOUNT",
        `cannot mount ${spec.fstype} on ${spec.target}: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    }
    done.push(spec.target);
    if (spec.target === "/proc") mounted = currentMountPoints();
  }
  return done;
}
