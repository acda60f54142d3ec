/**
 * Traffic control for pod networking (Kata's tcfilter model): the `tc` binary, the ingress qdisc
 * and the mirred action redirecting the CNI veth to QEMU's tap. Not required (no-network pods run).
 */
import type { FeatureState, KernelFeature } from "../host/kernel-feature.js";
import { type CheckResult, ok, warn } from "./check-result.js";

export const ACT_MIRRED: KernelFeature = { module: "act_mirred", config: "CONFIG_NET_ACT_MIRRED" };
export const SCH_INGRESS: KernelFeature = { module: "sch_ingress", config: "CONFIG_NET_SCH_INGRESS" };

export interface TcMirredInputs {
  /** Path of `tc`, or undefined when not found. */
  tcPath: string | undefined;
  feature: (f: KernelFeature) => FeatureState;
}

export function checkTcMirred(inputs: TcMirredInputs): CheckResult {
  const mirred = inputs.feature(ACT_MIRRED);
  const ingress = inputs.feature(SCH_INGRESS);
  const missing: string[] = [];
  const remedies: string[] = [];
  if (!inputs.tcPath) {
    missing.push("tc not found on PATH");
    remedies.push("apt-get install iproute2");
  }
  for (const [f, state] of [
    [ACT_MIRRED, mirred],
    [SCH_INGRESS, ingress],
  ] as const) {
    if (!state.available) {
      missing.push(`${f.module} unavailable (${state.looked})`);
      remedies.push(`modprobe ${f.module} (${f.config})`);
    }
  }
  if (missing.length > 0)
    return warn(
      "tc-mirred",
      `pod networking cannot redirect veth <-> tap: ${missing.join("; ")}`,
      remedies.join("; "),
    );
  const how = (s: FeatureState): string => (s.available ? s.how : "");
  return ok("tc-mirred", `${inputs.tcPath}; act_mirred ${how(mirred)}; sch_ingress ${how(ingress)}`);
}
