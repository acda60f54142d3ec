/**
 * The one place that loads the C library through koffi. Bindings by concern (mount.ts,
 * system.ts, vsock.ts …) declare their functions on `libc()` and turn errno into NativeError.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type * as Koffi from "koffi";
import { NativeError } from "./errors.js";

let koffiModule: typeof Koffi | undefined;
let handle: Koffi.LibraryHandle | undefined;

/**
 * koffi's platform package and its addon for glibc x86-64 (the host and the guest alike). koffi's
 * own loader finds the same file by reading node's ELF interpreter twice and trying every
 * platform package in turn: ~0.15 s of emulated CPU in a TCG guest, at the agent's first native
 * call, before it listens. Anything else goes through koffi's loader.
 */
const KOFFI_PLATFORM_PACKAGE = "@koromix/koffi-linux-x64";
const KOFFI_ADDON = "linux_x64/koffi.node";

/** The koffi addon to load directly, or undefined where koffi's own loader must choose. */
export function directKoffiAddon(
  req: NodeJS.Require,
  platform = process.platform,
  arch = process.arch,
): string | undefined {
  if (platform !== "linux" || arch !== "x64") return undefined;
  try {
    const addon = join(dirname(req.resolve(`${KOFFI_PLATFORM_PACKAGE}/package.json`)), KOFFI_ADDON);
    return existsSync(addon) ? addon : undefined;
  } catch {
    return undefined;
  }
}

/** koffi, loaded on first use (it is a native addon: keep it out of startup where unused). */
export function koffi(): typeof Koffi {
  if (!koffiModule) {
    // created here, not at load: a startup snapshot of the bundled agent is taken before koffi may load
    const req = createRequire(import.meta.url);
    const addon = directKoffiAddon(req);
    koffiModule = (addon ? req(addon) : req("koffi")) as typeof Koffi;
  }
  return koffiModule;
}

export function libc(): Koffi.LibraryHandle {
  handle ??= koffi().load("libc.so.6");
  return handle;
}

type LibcFn = (...args: never[]) => unknown;
const declared = new Map<string, LibcFn>();

/** A libc function from its C declaration, declared once and reused. */
export function libcFunc<T extends LibcFn>(decl: string): T {
  let f = declared.get(decl);
  if (!f) {
    f = libc().func(decl) as LibcFn;
    declared.set(decl, f);
  }
  return f as T;
}

/** ioctl(fd, request, buf) with a struct passed by pointer (winsize, ifreq …); the raw result. */
export function ioctlWithBuffer(fd: number, request: number, buf: Buffer): number {
  return libcFunc<(fd: number, request: number, buf: Buffer) => number>(
    "int ioctl(int fd, unsigned long request, _Inout_ uint8_t *arg)",
  )(fd, request, buf);
}

/** errno of the last failed call on this thread. */
export function lastErrno(): number {
  return koffi().errno();
}

/** errno number → name (EINVAL …), from koffi's table. */
export function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(koffi().os.errno)) if (value === errno) return name;
  return `E${errno}`;
}

/** Throws NativeError when a libc call returned -1; returns the result otherwise. */
export function check(result: number, syscall: string, detail?: string): number {
  if (result === -1) {
    const errno = lastErrno();
    throw new NativeError(syscall, errno, errnoName(errno), detail);
  }
  return result;
}
