/**
 * A container's root filesystem on the host, placed where the guest can see it: containerd's
 * rootfs mounts (an overlay from the snapshotter, or a bind) are mounted at
 * `<shared dir>/<container id>/rootfs`; with no mounts, the bundle's own `rootfs` directory is
 * bind-mounted there. Unmounting is the reverse and tolerates what is already gone.
 */
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { MountFlags, mount, UmountFlags, umount } from "../../native/mount.js";
import { parseMountOptions } from "../../native/mount-options.js";
import { openShareTarget } from "./share-target.js";

export interface RootfsMount {
  type: string;
  source: string;
  options: readonly string[];
}

export class RootfsError extends Error {
  override readonly name = "RootfsError";
  readonly code = "ROOTFS_MOUNT_FAILED";
}

function mountOne(m: RootfsMount, target: string): void {
  const opts = parseMountOptions(m.options);
  const bind = m.type === "bind" || opts.bind;
  try {
    mount({
      source: m.source,
      target,
      fstype: bind ? null : m.type,
      flags: bind ? opts.flags | MountFlags.BIND : opts.flags,
      data: opts.data || null,
    });
    if (bind && opts.readonly) {
      mount({
        source: null,
        target,
        fstype: null,
        flags: MountFlags.BIND | MountFlags.REMOUNT | MountFlags.RDONLY,
      });
    }
  } catch (err) {
    throw new RootfsError(`rootfs mount ${m.type} ${m.source} on ${target}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Mounts the container's rootfs at target (created if missing). On failure nothing stays mounted. */
/**
 * `shareRoot`: the sandbox's share (writable by the guest): the mount point is then made and
 * opened without following a symlink below it (share-target.ts), and the first mount goes onto
 * the inode checked.
 */
export function mountRootfs(
  mounts: readonly RootfsMount[],
  bundleRootfs: string,
  target: string,
  shareRoot?: string,
): void {
  const opened = shareRoot !== undefined ? openShareTarget(shareRoot, target, "dir") : undefined;
  if (!opened) mkdirSync(target, { recursive: true });
  const list = mounts.length > 0 ? mounts : [{ type: "bind", source: bundleRootfs, options: ["rbind"] }];
  let done = 0;
  try {
    for (const m of list) {
      // Later mounts stack on the first (a mount point cannot be swapped by the guest).
      mountOne(m, done === 0 && opened ? opened.mountPath : target);
      done++;
    }
  } catch (err) {
    for (; done > 0; done--) umount(target, UmountFlags.DETACH | UmountFlags.NOFOLLOW);
    throw err;
  } finally {
    opened?.close();
  }
}

export function isMountPoint(path: string): boolean {
  const mountinfo = readFileSync("/proc/self/mountinfo", "utf8");
  const escaped = path.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`);
  return mountinfo.split("\n").some((line) => line.split(" ")[4] === escaped);
}

/** Unmounts everything stacked at target, then removes the container's directory. */
export function unmountRootfs(target: string, containerDir: string): void {
  while (isMountPoint(target)) umount(target, UmountFlags.DETACH | UmountFlags.NOFOLLOW);
  rmSync(containerDir, { recursive: true, force: true });
}
