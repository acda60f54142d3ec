/**
 * KVM: /dev/kvm present *and able to run a guest* (the shim's own bounded probe). When it cannot,
 * the probe's reason and that TCG will be used: a warning, unless `accel = "kvm"` is configured,
 * which makes every sandbox start fail.
 */

import type { AccelSetting } from "../../shim/config/types.js";
import type { KvmProbeResult } from "../../shim/hypervisor/accel-probe.js";
import { type CheckResult, fail, ok, warn } from "./check-result.js";

export interface KvmCheckInputs {
  accel: AccelSetting;
  /** Runs the KVM usability probe (shim/hypervisor/accel-probe.ts `probeKvm` on a real host). */
  probe: () => Promise<KvmProbeResult>;
}

export async function checkKvm(inputs: KvmCheckInputs): Promise<CheckResult> {
  const result = await inputs.probe();
  const how = `${result.method}; probe took ${result.elapsedMs} ms${result.cached ? ", result cached for this host boot" : ""}`;
  if (result.usable) {
    if (inputs.accel === "tcg")
      return ok("kvm", `KVM can run a guest (${how}), but hypervisor.accel = "tcg" is configured`);
    return ok("kvm", `KVM can run a guest (${how}); sandboxes use KVM`);
  }
  const why = `KVM cannot be used: ${result.reason} (${how})`;
  if (inputs.accel === "kvm")
    return fail(
      "kvm",
      `${why}; hypervisor.accel = "kvm" is configured, so every sandbox start fails`,
      'set hypervisor.accel = "auto" (TCG fallback) or "tcg", or fix KVM (load kvm_intel/kvm_amd, enable nested virtualization)',
    );
  if (inputs.accel === "tcg") return warn("kvm", `${why}; hypervisor.accel = "tcg" is configured`, "");
  return warn(
    "kvm",
    `${why}; TCG (software emulation, much slower) will be used`,
    "for speed, run on a host whose /dev/kvm can run a guest (bare metal, or working nested virtualization)",
  );
}
