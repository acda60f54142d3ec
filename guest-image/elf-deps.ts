import { existsSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { GuestImageError } from "./errors.js";
import { run } from "./exec.js";

/** Library directories searched inside the staging tree, in the dynamic loader's order. */
const LIB_DIRS = ["lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu", "lib64", "usr/lib64", "lib", "usr/lib"];

/** Sonames a binary needs (DT_NEEDED), from `readelf -d`. */
export function parseNeeded(readelfOutput: string): string[] {
  const names: string[] = [];
  for (const m of readelfOutput.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)) names.push(m[1]!);
  return names;
}

export async function readNeeded(file: string): Promise<string[]> {
  const { stdout } = await run("readelf", ["-d", "-W", file]);
  return parseNeeded(stdout);
}

/**
 * Transitive closure of shared libraries: `needed` lists a file's sonames, `locate` maps a soname
 * to a file (or undefined). Returns soname → file, and throws naming every unresolved soname.
 */
export async function libraryClosure(
  roots: readonly string[],
  needed: (file: string) => Promise<string[]>,
  locate: (soname: string) => string | undefined,
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const missing = new Set<string>();
  const queue = [...roots];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const soname of await needed(file)) {
      if (found.has(soname) || missing.has(soname)) continue;
      const path = locate(soname);
      if (path === undefined) {
        missing.add(soname);
        continue;
      }
      found.set(soname, path);
      queue.push(path);
    }
  }
  if (missing.size > 0) {
    throw new GuestImageError(
      "ERR_GUEST_LIBRARY_UNRESOLVED",
      `shared libraries not found in the staged packages: ${[...missing].join(", ")} (add their Debian package to DEB_PACKAGES)`,
    );
  }
  return found;
}

/** Locates a soname inside an unpacked Debian tree, following symlinks to the real file. */
export function stagingLocator(stagingRoot: string): (soname: string) => string | undefined {
  return (soname) => {
    for (const dir of LIB_DIRS) {
      const candidate = join(stagingRoot, dir, soname);
      if (existsSync(candidate)) {
        const real = realpathSync(candidate);
        // An absolute symlink would escape the staging tree: refuse it rather than copy the host's file.
        if (real.startsWith(stagingRoot)) return real;
      }
    }
    return undefined;
  };
}
