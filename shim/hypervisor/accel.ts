/** Turns `hypervisor.accel` (kvm | tcg | auto) into the accelerator QEMU runs with. */
import type { Logger } from "pino";
import type { AccelSetting } from "../config/types.js";
import { type KvmProbeOptions, type KvmProbeResult, probeKvm } from "./accel-probe.js";
import { KvmUnusableError } from "./errors.js";
import type { Accel } from "./qemu/args/accel.js";

export interface AccelChoice {
  accel: Accel;
  probe: KvmProbeResult | undefined;
}

const warned = new Set<string>();

/**
 * `tcg`: no probe. `kvm`: probe, throw KvmUnusableError (the probe's evidence in the message) if
 * unusable. `auto`: probe, fall back to TCG with one warning per process and reason.
 */
export async function chooseAccel(
  setting: AccelSetting,
  probe: KvmProbeOptions,
  log: Logger,
): Promise<AccelChoice> {
  if (setting === "tcg") return { accel: "tcg", probe: undefined };
  const result = await probeKvm(probe);
  log.debug({ probe: result }, "KVM probe");
  if (result.usable) return { accel: "kvm", probe: result };
  if (setting === "kvm") throw new KvmUnusableError(result.reason);
  if (!warned.has(result.reason)) {
    warned.add(result.reason);
    log.warn(
      { reason: result.reason, probeMs: result.elapsedMs, cached: result.cached },
      `KVM is unusable on this host, falling back to TCG (software emulation, much slower): ${result.reason}`,
    );
  }
  return { accel: "tcg", probe: result };
}
