import { GuestImageError } from "./errors.js";

/** module name → { path relative to /lib/modules/KVER, direct dependencies' paths } */
export interface ModuleIndex {
  byName: Map<string, string>;
  deps: Map<string, string[]>;
}

/** A module's canonical name from its file path: basename without .ko[.xz|.zst|.gz], '-' → '_'. */
export function moduleName(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  return base.replace(/\.ko(\.(xz|zst|gz))?$/, "").replaceAll("-", "_");
}

/** Parses depmod's modules.dep ("kernel/a.ko: kernel/b.ko kernel/c.ko"). */
export function parseModulesDep(text: string): ModuleIndex {
  const byName = new Map<string, string>();
  const deps = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const path = line.slice(0, colon).trim();
    const list = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .filter((s) => s.length > 0);
    byName.set(moduleName(path), path);
    deps.set(path, list);
  }
  return { byName, deps };
}

/**
 * Every module needed for `names`, dependencies first (a valid insmod order). Names that are built
 * into the kernel (listed in `builtin`) are skipped; unknown names fail the build.
 */
export function moduleLoadOrder(
  index: ModuleIndex,
  names: readonly string[],
  builtin: ReadonlySet<string>,
): string[] {
  const order: string[] = [];
  const done = new Set<string>();
  const visit = (path: string, chain: readonly string[]): void => {
    if (done.has(path)) return;
    if (chain.includes(path)) return; // depmod never emits cycles; guard anyway
    for (const dep of index.deps.get(path) ?? []) visit(dep, [...chain, path]);
    done.add(path);
    order.push(path);
  };
  for (const raw of names) {
    const name = raw.replaceAll("-", "_");
    const path = index.byName.get(name);
    if (path === undefined) {
      if (builtin.has(name)) continue;
      throw new GuestImageError(
        "ERR_GUEST_MODULE_UNKNOWN",
        `kernel module ${raw} is neither a module nor built in`,
      );
    }
    visit(path, []);
  }
  return order;
}

/** Names listed in modules.builtin ("kernel/fs/ext4/ext4.ko" per line). */
export function parseBuiltin(text: string): Set<string> {
  return new Set(
    text
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.length > 0)
      .map(moduleName),
  );
}
