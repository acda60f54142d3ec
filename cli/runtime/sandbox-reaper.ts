/**
 * A container's VM must not outlive its stand-in. The stand-in tears its VM down itself when the
 * guest process ends or `delete` asks; if the stand-in dies without doing so (SIGKILL, a crash),
 * a watcher it started reaps the VM at once: `reapSandbox` stops the QEMU and virtiofsd its
 * sandbox record names, releases the mounts below the sandbox directory, removes it, and records
 * the container as stopped (137). `delete` of a container whose stand-in died that way does the
 * same, so nothing is left even when the watcher did not get to run.
 */
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { UmountFlags, umount } from "../../native/mount.js";
import { loadConfig } from "../../shim/config/load.js";
import { cleanupSandbox, mountsBelow, sandboxPaths } from "../../shim/hypervisor/sandbox-resources.js";
import { containerDir, readRecord, stateFile, writeRecord } from "./state-store.js";

export const REAP_COMMAND = "_reap";

export interface ReapParams {
  root: string;
  id: string;
  /**
   * The watcher's stand-in: reap only while the record still names it (not a container created
   * again under the same id since, nor one whose record is gone).
   */
  standinPid?: number;
}

/** What was found and done, one line each (for the log). */
export async function reapSandbox(p: ReapParams): Promise<string[]> {
  const notes: string[] = [];
  if (p.standinPid !== undefined) {
    const record = readRecord(p.root, p.id);
    if (!record || record.pid !== p.standinPid || record.status === "stopped") return notes;
  }
  const stateDir = loadConfig().runtime.stateDir;
  const paths = sandboxPaths(stateDir, p.id);
  const mounts = (await mountsBelow(paths.dir)).sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    try {
      umount(m, UmountFlags.DETACH);
      notes.push(`unmounted ${m}`);
    } catch (err) {
      notes.push(`unmount ${m}: ${(err as Error).message}`);
    }
  }
  const report = await cleanupSandbox(stateDir, p.id);
  for (const proc of report?.processes ?? []) notes.push(`${proc.role} ${proc.pid}: ${proc.outcome}`);
  if (!report) rmSync(paths.dir, { recursive: true, force: true });
  rmSync(paths.socketDir, { recursive: true, force: true });
  const record = readRecord(p.root, p.id);
  if (record && record.status !== "stopped") {
    try {
      writeRecord(p.root, { ...record, status: "stopped", exitStatus: 137 });
    } catch {
      // `delete` removed the container's directory meanwhile
    }
  }
  return notes;
}

/**
 * Starts the watcher of this stand-in: a shell in its own session holding the read end of a pipe
 * only this process writes to. When this process is gone the read ends; unless the record says
 * the stand-in stopped its VM itself (or `delete` already removed it), the watcher runs
 * `tskata-runtime _reap`.
 */
export function startSandboxWatcher(p: ReapParams): void {
  const script =
    'cat >/dev/null; [ -e "$1" ] || exit 0; grep -q \'"status":"stopped"\' "$2" 2>/dev/null && exit 0; shift 2; exec "$@"';
  const child = spawn(
    "/bin/sh",
    [
      "-c",
      script,
      "sh",
      containerDir(p.root, p.id),
      stateFile(p.root, p.id),
      process.execPath,
      ...process.execArgv,
      process.argv[1]!,
      REAP_COMMAND,
      JSON.stringify(p),
    ],
    { stdio: ["pipe", "ignore", "ignore"], detached: true },
  );
  child.on("error", () => {});
  child.unref();
  // the pipe stays open (and unreferenced) for this process's whole life
  const stdin = child.stdin as unknown as { unref?: () => void; _handle?: { unref?: () => void } };
  stdin._handle?.unref?.();
}
