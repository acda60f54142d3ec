/** The shim binary containerd looks up for runtime io.containerd.tskata.v2. Not required here. */
import { type CheckResult, ok, warn } from "./check-result.js";

export const SHIM_BINARY = "containerd-shim-tskata-v2";

export interface ShimOnPathInputs {
  searchPath: readonly string[];
  find: (name: string, dirs: readonly string[]) => string | undefined;
}

export function checkShimOnPath(inputs: ShimOnPathInputs): CheckResult {
  const found = inputs.find(SHIM_BINARY, inputs.searchPath);
  if (found) return ok("shim", `${SHIM_BINARY} at ${found}`);
  return warn(
    "shim",
    `${SHIM_BINARY} is not on containerd's PATH (looked in ${inputs.searchPath.length} directories: $PATH and /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)`,
    "tskata install (puts it in /usr/local/bin)",
  );
}
