/** The state dir the operator commands look in: --state-dir, else the configuration's runtime.state_dir. */
import { loadConfig } from "../../shim/config/load.js";

export const STATE_DIR_OPTIONS = {
  config: { type: "string" },
  "state-dir": { type: "string" },
} as const;

export function stateDirOf(values: {
  config?: string | undefined;
  "state-dir"?: string | undefined;
}): string {
  return values["state-dir"] ?? loadConfig(values.config).runtime.stateDir;
}
