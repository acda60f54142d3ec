/**
 * Is a kernel feature available, loaded or built in? Looks, without loading anything, at
 * /proc/modules (loaded), /sys/module/<name> (loaded or built in with parameters),
 * /lib/modules/<release>/modules.builtin and modules.dep (built in / loadable), and
 * /proc/config.gz (`=y` built in, `=m` a module).
 */
import { existsSync, readFileSync } from "node:fs";
import { release } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

export interface KernelFeature {
  /** Module name, e.g. `act_mirred`. */
  module: string;
  /** Kconfig symbol, e.g. `CONFIG_NET_ACT_MIRRED`. */
  config: string;
}

export type FeatureState = { available: true; how: string } | { available: false; looked: string };

/** Where the answers live; tests point these at a fake tree. */
export interface KernelSources {
  procModules: string;
  sysModule: string;
  modulesDir: string;
  configGz: string;
}

export function hostKernelSources(): KernelSources {
  return {
    procModules: "/proc/modules",
    sysModule: "/sys/module",
    modulesDir: join("/lib/modules", release()),
    configGz: "/proc/config.gz",
  };
}

function read(path: string, gz = false): string | undefined {
  try {
    const data = readFileSync(path);
    return (gz ? gunzipSync(data) : data).toString("utf8");
  } catch {
    return undefined;
  }
}

export function kernelFeature(feature: KernelFeature, src: KernelSources): FeatureState {
  const mod = feature.module;
  const loaded = read(src.procModules);
  if (loaded?.split("\n").some((l) => l.split(" ")[0] === mod))
    return { available: true, how: "module loaded" };
  if (existsSync(join(src.sysModule, mod)))
    return { available: true, how: `${join(src.sysModule, mod)} present` };
  const fileRe = new RegExp(`(^|/)${mod.replace(/_/g, "[_-]")}\\.ko`, "m");
  if (fileRe.test(read(join(src.modulesDir, "modules.builtin")) ?? ""))
    return { available: true, how: "built in (modules.builtin)" };
  if (fileRe.test(read(join(src.modulesDir, "modules.dep")) ?? ""))
    return { available: true, how: "loadable module (modules.dep)" };
  const config = read(src.configGz, true);
  const setting = config ? new RegExp(`^${feature.config}=([ym])$`, "m").exec(config)?.[1] : undefined;
  if (setting === "y") return { available: true, how: `built in (${feature.config}=y)` };
  if (setting === "m") return { available: true, how: `module (${feature.config}=m)` };
  return {
    available: false,
    looked: `not in ${src.procModules}, ${src.sysModule}, ${src.modulesDir}, nor ${src.configGz}`,
  };
}
