/**
 * `tskata uninstall [--containerd] [--docker] [--dry-run] [--root DIR] ...`: removes what
 * `tskata install` added, restoring changed files byte for byte; prints every change.
 */
import { applyChanges } from "../install/file-change.js";
import { parseInstallArgs } from "../install/options.js";
import { planUninstall } from "../install/plan.js";

export function uninstall(
  args: readonly string[],
  write: (t: string) => void = (t) => process.stdout.write(t),
): number {
  const { options, dryRun } = parseInstallArgs("uninstall", args);
  const plan = planUninstall(options);
  const lines = applyChanges(plan.changes, dryRun);
  if (dryRun) lines.push("dry run: nothing was changed");
  write(`${[...lines, ...plan.notes].join("\n")}\n`);
  return 0;
}
