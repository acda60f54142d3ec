/** /dev/net/tun, for the tap device QEMU uses in pod networking. Not required (no-network pods run). */
import { type CheckResult, ok, warn } from "./check-result.js";

export interface TunInputs {
  device: string;
  /** Opens and closes the device; returns an error code (ENOENT, EACCES …) or undefined. */
  tryOpen: (path: string) => string | undefined;
}

export function checkTun(inputs: TunInputs): CheckResult {
  const problem = inputs.tryOpen(inputs.device);
  if (!problem) return ok("tun", `${inputs.device} opens`);
  return warn(
    "tun",
    `${inputs.device} unusable (${problem}): pods with networking cannot get a tap device`,
    "modprobe tun (CONFIG_TUN), and run the shim as root",
  );
}
