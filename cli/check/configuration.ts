/** The configuration file: which one, and whether the shim would accept it. Required. */
import type { EffectiveConfig } from "../config/effective-config.js";
import { type CheckResult, fail, ok } from "./check-result.js";

export function checkConfiguration(effective: EffectiveConfig): CheckResult {
  const which = effective.file
    ? `${effective.file} (${effective.chosenBy})`
    : "built-in defaults (no file found)";
  if (effective.issues.length === 0) return ok("configuration", which);
  const issues = effective.issues.map((i) => (i.key ? `${i.key}: ${i.message}` : i.message)).join("; ");
  return fail(
    "configuration",
    `${which} is invalid: ${issues}`,
    "fix the keys named (see configuration.toml for each key)",
  );
}
