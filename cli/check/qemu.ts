/** QEMU: the configured `hypervisor.path` exists, runs, and says its version. Required. */
import type { QemuVersion } from "../host/qemu-version.js";
import { type CheckResult, fail, ok } from "./check-result.js";

export interface QemuCheckInputs {
  /** `hypervisor.path` from the effective configuration. */
  path: string;
  version: (path: string) => Promise<QemuVersion>;
}

const INSTALL = "apt-get install qemu-system-x86 (Debian), or set hypervisor.path to a QEMU binary";

export async function checkQemu(inputs: QemuCheckInputs): Promise<CheckResult> {
  const v = await inputs.version(inputs.path);
  if (!v.ok) return fail("qemu", `QEMU not usable at ${inputs.path}: ${v.reason}`, INSTALL);
  return ok("qemu", `${inputs.path}: ${v.line}`);
}
