/**
 * What the `delete` cleanup command needs to know about the sandbox a task ran in, written into
 * the task's bundle directory at Create (containerd runs `delete` with the bundle as its cwd, after
 * the shim that knew it has died) — as runc's shim keeps its options in the bundle's
 * options.json. Today that is the configuration file the sandbox was started with: its
 * `runtime.state_dir` says where the sandbox's mounts, processes and directories are.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const BUNDLE_RECORD_FILE = "tskata-options.json";

export interface BundleRecord {
  /** The configuration file named by the task's runtime options (ConfigPath), if any. */
  configPath: string | undefined;
}

/** Writes the record atomically (a `delete` racing a Create reads the old file or the new one). */
export function writeBundleRecord(bundle: string, record: BundleRecord): void {
  const file = join(bundle, BUNDLE_RECORD_FILE);
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify({ config_path: record.configPath ?? "" }), { mode: 0o600 });
  renameSync(tmp, file);
}

/** The record in `bundle`, or undefined when there is none or it cannot be read. */
export function readBundleRecord(bundle: string): BundleRecord | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(bundle, BUNDLE_RECORD_FILE), "utf8"));
  } catch {
    return undefined;
  }
  if (typeof raw !== "object" || raw === null) return undefined;
  const configPath = (raw as { config_path?: unknown }).config_path;
  return { configPath: typeof configPath === "string" && configPath !== "" ? configPath : undefined };
}
