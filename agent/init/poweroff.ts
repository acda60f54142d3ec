import { readFileSync } from "node:fs";
import { UmountFlags, umount } from "../../native/mount.js";
import { RebootCommand, reboot, sync } from "../../native/system.js";
import { parseMountPoints } from "./mounts.js";

/** Mounts the agent unmounts before poweroff: shares and anything under /run, deepest first. */
export function mountsToRelease(points: Iterable<string>): string[] {
  const keep = new Set([
    "/",
    "/proc",
    "/sys",
    "/dev",
    "/dev/pts",
    "/dev/shm",
    "/run",
    "/tmp",
    "/sys/fs/cgroup",
  ]);
  return [...points]
    .filter((p) => !keep.has(p) && (p.startsWith("/run/") || p.startsWith("/mnt/")))
    .sort((a, b) => b.length - a.length);
}

/**
 * Clean poweroff: sync, detach the shared and container mounts, sync again, then
 * reboot(LINUX_REBOOT_CMD_POWER_OFF). Does not return on success.
 */
export function powerOff(log: (msg: string) => void): void {
  sync();
  let points: string[] = [];
  try {
    points = mountsToRelease(parseMountPoints(readFileSync("/proc/self/mountinfo", "utf8")));
  } catch {
    // /proc gone: nothing we can list
  }
  for (const p of points) {
    try {
      umount(p, UmountFlags.DETACH);
    } catch (e) {
      log(`umount ${p}: ${(e as Error).message}`);
    }
  }
  sync();
  reboot(RebootCommand.POWER_OFF);
}
