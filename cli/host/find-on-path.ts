/** Finds an executable by name in a PATH-like list of directories. */
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";

export function findOnPath(name: string, dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** `$PATH` split, plus the directories a service manager gives containerd by default. */
export function serviceSearchPath(pathEnv = process.env["PATH"] ?? ""): string[] {
  const system = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
  return [...new Set([...pathEnv.split(delimiter).filter(Boolean), ...system])];
}
