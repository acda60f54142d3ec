/**
 * A host path a container mounts (a volume, or one of the files containerd's CRI plugin binds:
 * /etc/hosts, /etc/hostname, /etc/resolv.conf), bound into the sandbox's share so the guest sees
 * it. The mount point takes the source's kind — a directory for a directory, an empty file for
 * anything else — since a bind mount needs a target of the same kind (ENOTDIR otherwise).
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { MountFlags, mount, UmountFlags, umount } from "../../native/mount.js";
import { RootfsError } from "./rootfs.js";
import { openShareTarget, type ShareTarget } from "./share-target.js";

/**
 * `shareRoot`: the sandbox's share, which the guest can write to; the mount point is then made
 * and opened without following any symlink below it (share-target.ts).
 */
export function shareVolume(source: string, target: string, readonly: boolean, shareRoot?: string): void {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(source).isDirectory();
  } catch (err) {
    throw new RootfsError(
      `mount source ${source}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      { cause: err },
    );
  }
  let opened: ShareTarget | undefined;
  if (shareRoot !== undefined) {
    opened = openShareTarget(shareRoot, target, isDirectory ? "dir" : "file");
  } else {
    mkdirSync(dirname(target), { recursive: true });
    if (isDirectory) mkdirSync(target, { recursive: true });
    else writeFileSync(target, "", { flag: "a" });
  }
  let mounted = false;
  try {
    mount({
      source,
      target: opened?.mountPath ?? target,
      fstype: null,
      flags: MountFlags.BIND | MountFlags.REC,
    });
    mounted = true;
    if (readonly) {
      mount({
        source: null,
        target,
        fstype: null,
        flags: MountFlags.BIND | MountFlags.REMOUNT | MountFlags.RDONLY,
      });
    }
  } catch (err) {
    if (mounted) umount(target, UmountFlags.DETACH | UmountFlags.NOFOLLOW);
    rmSync(target, { recursive: true, force: true });
    throw new RootfsError(`bind ${source} on ${target}: ${(err as Error).message}`, { cause: err });
  } finally {
    opened?.close();
  }
}
