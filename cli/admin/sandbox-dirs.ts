/**
 * The sandboxes under a state dir, as their resource records name them
 * (`<state_dir>/sandboxes/<id>/resources.json`), with the admin socket each shim serves, and the
 * SANDBOX argument of `inspect`/`exec` resolved against them (an id, or a unique prefix of one).
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { type ResourceRecord, sandboxPaths } from "../../shim/hypervisor/sandbox-resources.js";
import { CliError } from "../errors.js";

export interface SandboxDir {
  id: string;
  adminSocket: string;
  /** When the record was written (ISO); "" when unknown. */
  createdAt: string;
  /** The shim (or pool daemon) that owns it. */
  ownerPid: number | undefined;
}

export async function listSandboxDirs(stateDir: string): Promise<SandboxDir[]> {
  const names = await readdir(join(stateDir, "sandboxes")).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return [] as string[];
    throw err;
  });
  const out: SandboxDir[] = [];
  for (const id of names.sort()) {
    let paths: ReturnType<typeof sandboxPaths>;
    try {
      paths = sandboxPaths(stateDir, id);
    } catch {
      continue; // not a sandbox directory (invalid id)
    }
    const record = await readFile(paths.record, "utf8")
      .then((t) => JSON.parse(t) as ResourceRecord)
      .catch(() => undefined);
    if (!record) continue;
    out.push({
      id,
      adminSocket: record.adminSocket ?? paths.adminSocket,
      createdAt: record.createdAt,
      ownerPid: record.owner?.pid,
    });
  }
  return out;
}

/** The one sandbox whose id is `wanted` or starts with it. */
export function resolveSandbox(dirs: readonly SandboxDir[], wanted: string, stateDir: string): SandboxDir {
  const exact = dirs.find((d) => d.id === wanted);
  if (exact) return exact;
  const matches = dirs.filter((d) => d.id.startsWith(wanted));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0)
    throw new CliError("CLI_SANDBOX_NOT_FOUND", `no sandbox ${JSON.stringify(wanted)} under ${stateDir}`);
  throw new CliError(
    "CLI_SANDBOX_NOT_FOUND",
    `${JSON.stringify(wanted)} matches ${matches.length} sandboxes (${matches.map((m) => m.id).join(", ")}): give more of the id`,
  );
}
