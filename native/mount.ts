/** mount(2), umount2(2) with typed flags; errors carry errno (NativeError). */
import { check, libc } from "./libc.js";

export const MountFlags = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  REMOUNT: 0x20,
  NOATIME: 0x400,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
} as const;

export const UmountFlags = { FORCE: 0x1, DETACH: 0x2, EXPIRE: 0x4, NOFOLLOW: 0x8 } as const;

type MountFn = (
  source: string | null,
  target: string,
  fstype: string | null,
  flags: number,
  data: string | null,
) => number;
type UmountFn = (target: string, flags: number) => number;

let mountFn: MountFn | undefined;
let umountFn: UmountFn | undefined;

export interface MountOptions {
  source: string | null;
  target: string;
  fstype: string | null;
  flags?: number;
  /** Filesystem-specific options string (e.g. "mode=0755,size=64m"). */
  data?: string | null;
}

export function mount(opts: MountOptions): void {
  mountFn ??= libc().func(
    "int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)",
  ) as MountFn;
  const flags = opts.flags ?? 0;
  check(
    mountFn(opts.source, opts.target, opts.fstype, flags, opts.data ?? null),
    "mount",
    `${opts.fstype ?? "-"} on ${opts.target}`,
  );
}

export function umount(target: string, flags = 0): void {
  umountFn ??= libc().func("int umount2(const char *target, int flags)") as UmountFn;
  check(umountFn(target, flags), "umount2", target);
}
