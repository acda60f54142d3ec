/**
 * Where the default guest artifacts live. Resolution is explicit and reported:
 *   1. `$TSKATA_GUEST_DIR` when set;
 *   2. `<package root>/build/guest` when it exists (a source checkout after `npm run build:guest`);
 *   3. `/usr/share/tskata/guest` (an installed runtime).
 * The package root is the nearest directory above this module holding tskata's package.json,
 * so the same rule works from `shim/config/` (tsx) and from `dist/shim/config/` (built).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const INSTALLED_GUEST_DIR = "/usr/share/tskata/guest";
export const DEFAULT_CONFIG_PATHS = [
  "/etc/tskata/configuration.toml",
  "/usr/share/tskata/configuration.toml",
];

export interface GuestDir {
  dir: string;
  /** Which rule chose it, for error messages. */
  reason: "env TSKATA_GUEST_DIR" | "package build output" | "installed location";
}

export interface GuestArtifacts {
  kernel: string;
  image: string | undefined;
  initrd: string | undefined;
  /** The image's suggested kernel command line, when its manifest has one. */
  kernelCmdline: string;
  guestDir: GuestDir;
}

export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string | undefined {
  let dir = resolve(from);
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "tskata") return dir;
      } catch {
        // not ours; keep walking
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export function resolveGuestDir(env: NodeJS.ProcessEnv = process.env): GuestDir {
  const fromEnv = env["TSKATA_GUEST_DIR"];
  if (fromEnv) return { dir: resolve(fromEnv), reason: "env TSKATA_GUEST_DIR" };
  const root = packageRoot();
  if (root && existsSync(join(root, "build", "guest"))) {
    return { dir: join(root, "build", "guest"), reason: "package build output" };
  }
  return { dir: INSTALLED_GUEST_DIR, reason: "installed location" };
}

interface ManifestShape {
  kernelCmdline?: unknown;
  artifacts?: Record<string, { file?: unknown } | undefined>;
}

/** Default kernel/image/initrd: named by `<guest dir>/manifest.json` when present, else conventional names. */
export function defaultGuestArtifacts(guestDir: GuestDir = resolveGuestDir()): GuestArtifacts {
  let manifest: ManifestShape = {};
  try {
    manifest = JSON.parse(readFileSync(join(guestDir.dir, "manifest.json"), "utf8")) as ManifestShape;
  } catch {
    // no manifest: fall back to the conventional file names below
  }
  const file = (...keys: string[]): string | undefined => {
    for (const key of keys) {
      const name = manifest.artifacts?.[key]?.file;
      if (typeof name === "string" && name) return join(guestDir.dir, name);
    }
    return undefined;
  };
  const kernel = file("kernel", "vmlinuz") ?? join(guestDir.dir, "vmlinuz");
  let image = file("rootfs", "image", "root");
  let initrd = file("initrd", "initramfs");
  if (!image && !initrd) {
    const conventional = join(guestDir.dir, "rootfs.img");
    if (existsSync(conventional) || !existsSync(join(guestDir.dir, "initrd.img"))) image = conventional;
    else initrd = join(guestDir.dir, "initrd.img");
  }
  const kernelCmdline = typeof manifest.kernelCmdline === "string" ? manifest.kernelCmdline : "";
  return { kernel, image, initrd, kernelCmdline, guestDir };
}
