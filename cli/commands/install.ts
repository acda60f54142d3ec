/**
 * `tskata install [--containerd] [--docker] [--dry-run] [--root DIR] [--config-path PATH]
 * [--containerd-config PATH] [--package-dir DIR]`: puts the shim and `tskata` on PATH and
 * registers the runtime with containerd (default) and/or Docker; prints every change.
 */
import { applyChanges } from "../install/file-change.js";
import { parseInstallArgs } from "../install/options.js";
import { planInstall } from "../install/plan.js";

export function install(
  args: readonly string[],
  write: (t: string) => void = (t) => process.stdout.write(t),
): number {
  const { options, dryRun } = parseInstallArgs("install", args);
  const plan = planInstall(options);
  const lines = applyChanges(plan.changes, dryRun);
  if (dryRun) lines.push("dry run: nothing was changed");
  write(`${[...lines, ...plan.notes].join("\n")}\n`);
  return 0;
}
