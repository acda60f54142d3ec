/**
 * A mount point inside a sandbox's share, made without ever leaving the share. The guest can
 * write to the share (a compromised guest anywhere in it), so any component of
 * `<share>/<container id>/mounts/<n>` may be a symlink it planted — or one it swaps in while the
 * shim works — pointing at a host path. Every component below the share root is therefore
 * created one at a time and checked with lstat (a symlink is refused, never followed), the final
 * one is opened O_PATH|O_NOFOLLOW, and the opened file's real path must be exactly the one asked
 * for: the mount then goes onto `/proc/self/fd/<fd>`, the very inode checked, so a swap between
 * the check and the mount changes nothing.
 */
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
  realpathSync,
} from "node:fs";
import { join, relative, sep } from "node:path";
import { RootfsError } from "./rootfs.js";

/** Linux's O_PATH (not exported by node:fs): a handle on the inode, opened for no I/O. */
const O_PATH = 0o10000000;

export interface ShareTarget {
  /** `/proc/self/fd/<fd>`: mount onto this, not onto the path. */
  readonly mountPath: string;
  /** The path as the host names it (for mountinfo and unmounting). */
  readonly path: string;
  close(): void;
}

function refuse(target: string, why: string): never {
  throw new RootfsError(`share target ${target}: ${why}; nothing was mounted`);
}

/**
 * Creates (if missing) and opens `target`, a path below `shareRoot`, as a directory or an empty
 * file. Throws ROOTFS_MOUNT_FAILED for a path outside the share, a symlink or a wrong kind of
 * file on the way, or a path that moved while it was opened.
 */
export function openShareTarget(shareRoot: string, target: string, kind: "dir" | "file"): ShareTarget {
  const rel = relative(shareRoot, target);
  if (rel === "" || rel.startsWith("..") || rel.split(sep).includes(".."))
    refuse(target, `not below the share ${shareRoot}`);
  const root = realpathSync(shareRoot);
  const parts = rel.split(sep);
  let at = root;
  for (const [i, part] of parts.entries()) {
    at = join(at, part);
    const last = i === parts.length - 1;
    let st = lstatOrUndefined(at);
    if (!st) {
      try {
        if (!last || kind === "dir") mkdirSync(at, { mode: 0o755 });
        else
          closeSync(
            openSync(
              at,
              constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW,
              0o644,
            ),
          );
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      st = lstatOrUndefined(at);
    }
    if (!st) refuse(target, `${at} vanished while it was made`);
    if (st.isSymbolicLink()) refuse(target, `${at} is a symlink (it could point outside the share)`);
    if ((!last || kind === "dir") && !st.isDirectory()) refuse(target, `${at} is not a directory`);
    if (last && kind === "file" && !st.isFile()) refuse(target, `${at} is not a regular file`);
  }
  const fd = openSync(at, O_PATH | constants.O_NOFOLLOW | (kind === "dir" ? constants.O_DIRECTORY : 0));
  try {
    const mountPath = `/proc/self/fd/${fd}`;
    const real = readlinkSync(mountPath);
    if (real !== at) refuse(target, `it resolved to ${real} while it was opened (swapped)`);
    const st = fstatSync(fd);
    if (kind === "dir" ? !st.isDirectory() : !st.isFile())
      refuse(target, "it changed kind while it was opened");
    return { mountPath, path: at, close: () => closeSync(fd) };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

function lstatOrUndefined(path: string) {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}
