/**
 * fstab/OCI-style mount options ("ro", "nosuid", "rbind", "mode=755", …) split into mount(2)
 * flags and the filesystem's data string, the way mount(8) and runc read them.
 */
import { MountFlags } from "./mount.js";

export interface ParsedMountOptions {
  flags: number;
  /** Options mount(2) passes to the filesystem, comma-joined. Empty: none. */
  data: string;
  /** Propagation to apply in a second mount(2) call (it cannot be combined with others). */
  propagation: number;
  bind: boolean;
  readonly: boolean;
}

const SET: Record<string, number> = {
  ro: MountFlags.RDONLY,
  nosuid: MountFlags.NOSUID,
  nodev: MountFlags.NODEV,
  noexec: MountFlags.NOEXEC,
  noatime: MountFlags.NOATIME,
  relatime: MountFlags.RELATIME,
  remount: MountFlags.REMOUNT,
  bind: MountFlags.BIND,
  rbind: MountFlags.BIND | MountFlags.REC,
};

const CLEAR: Record<string, number> = {
  rw: MountFlags.RDONLY,
  suid: MountFlags.NOSUID,
  dev: MountFlags.NODEV,
  exec: MountFlags.NOEXEC,
  atime: MountFlags.NOATIME,
  defaults: 0,
};

const PROPAGATION: Record<string, number> = {
  private: MountFlags.PRIVATE,
  rprivate: MountFlags.PRIVATE | MountFlags.REC,
  slave: MountFlags.SLAVE,
  rslave: MountFlags.SLAVE | MountFlags.REC,
  shared: MountFlags.SHARED,
  rshared: MountFlags.SHARED | MountFlags.REC,
};

export function parseMountOptions(options: readonly string[]): ParsedMountOptions {
  let flags = 0;
  let propagation = 0;
  const data: string[] = [];
  for (const o of options) {
    const set = SET[o];
    const clear = CLEAR[o];
    const prop = PROPAGATION[o];
    if (set !== undefined) flags |= set;
    else if (clear !== undefined) flags &= ~clear;
    else if (prop !== undefined) propagation = prop;
    else if (o !== "") data.push(o);
  }
  return {
    flags,
    data: data.join(","),
    propagation,
    bind: (flags & MountFlags.BIND) !== 0,
    readonly: (flags & MountFlags.RDONLY) !== 0,
  };
}
