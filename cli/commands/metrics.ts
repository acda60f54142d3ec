/**
 * `tskata metrics [--config PATH | --state-dir DIR]`: every sandbox's metrics gathered into one
 * Prometheus page, each series labelled with its sandbox_id (as kata-monitor does).
 */
import { connectAdmin } from "../admin/admin-client.js";
import { mergeMetricPages, type SandboxPage } from "../admin/metrics-merge.js";
import { listSandboxDirs } from "../admin/sandbox-dirs.js";
import { STATE_DIR_OPTIONS, stateDirOf } from "../admin/state-dir.js";
import { parseOptions } from "../args.js";

export async function metrics(
  args: readonly string[],
  write = (t: string) => process.stdout.write(t),
): Promise<number> {
  const values = parseOptions("metrics", args, STATE_DIR_OPTIONS);
  const dirs = await listSandboxDirs(stateDirOf(values));
  const pages = await Promise.all(
    dirs.map(async (d): Promise<SandboxPage> => {
      try {
        const conn = await connectAdmin(d.adminSocket);
        try {
          return { sandboxId: d.id, text: (await conn.api.metrics({}, { timeoutMs: 15_000 })).text };
        } finally {
          conn.close();
        }
      } catch {
        return { sandboxId: d.id, text: undefined };
      }
    }),
  );
  write(mergeMetricPages(pages));
  return 0;
}
