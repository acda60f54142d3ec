/** Where a container's rootfs is on the shared filesystem, refusing paths that leave it. */
import { realpathSync } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { ContainerError } from "../container/errors.js";

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== "" && rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/**
 * The guest path of `sharedDir` (relative to the share root). Refused: absolute paths, `..`
 * leaving the share, and symlinks resolving outside it. `realpath` replaces fs.realpathSync in tests.
 */
export function resolveSharedRootfs(
  shareRoot: string,
  sharedDir: string,
  realpath: (p: string) => string = realpathSync,
): string {
  const escaping = (why: string) =>
    new ContainerError("ERR_ROOTFS_ESCAPE", `rootfs.shared_dir "${sharedDir}" ${why}`);
  if (sharedDir === "") throw escaping("is empty");
  if (isAbsolute(sharedDir)) throw escaping("must be relative to the shared directory");
  const lexical = resolve(shareRoot, sharedDir);
  if (!inside(shareRoot, lexical)) throw escaping("escapes the shared directory");
  let real: string;
  try {
    real = realpath(lexical);
  } catch (err) {
    throw new ContainerError(
      "ERR_SPEC_INVALID",
      `rootfs.shared_dir "${sharedDir}" does not exist in the shared directory: ${(err as Error).message}`,
    );
  }
  if (!inside(realpath(shareRoot), real))
    throw escaping("resolves (through a symlink) outside the shared directory");
  return real;
}
