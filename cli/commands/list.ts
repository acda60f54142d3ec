/**
 * `tskata list [--json] [--config PATH | --state-dir DIR]`: every sandbox under the state dir
 * with its pod, containers, accelerator, uptime and host PSS, from each shim's admin endpoint.
 */

import { listSandboxDirs } from "../admin/sandbox-dirs.js";
import { gatherList, renderList } from "../admin/sandbox-list.js";
import { STATE_DIR_OPTIONS, stateDirOf } from "../admin/state-dir.js";
import { parseOptions } from "../args.js";

export async function list(
  args: readonly string[],
  write = (t: string) => process.stdout.write(t),
): Promise<number> {
  const values = parseOptions("list", args, { ...STATE_DIR_OPTIONS, json: { type: "boolean" } });
  const entries = await gatherList(await listSandboxDirs(stateDirOf(values)));
  if (values.json) {
    const doc = entries.map((e) => ({
      id: e.id,
      adminSocket: e.adminSocket,
      answering: e.inspect !== undefined,
      ...(e.error ? { error: e.error } : {}),
      ...(e.inspect ? { inspect: e.inspect } : {}),
    }));
    write(`${JSON.stringify(doc, (_, v: unknown) => (typeof v === "bigint" ? Number(v) : v), 2)}\n`);
  } else write(renderList(entries));
  return 0;
}
