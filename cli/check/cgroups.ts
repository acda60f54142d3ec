/** cgroups on the host (v2 unified, hybrid, or v1), from the mount table. Not required. */
import { type CheckResult, ok, warn } from "./check-result.js";

export interface CgroupsInputs {
  /** Text of /proc/self/mounts. */
  mounts: string;
}

export function checkCgroups(inputs: CgroupsInputs): CheckResult {
  const rows = inputs.mounts
    .split("\n")
    .map((l) => l.split(" "))
    .filter((f) => f.length >= 3);
  const v2 = rows.filter((f) => f[2] === "cgroup2").map((f) => f[1]);
  const v1 = rows.filter((f) => f[2] === "cgroup").map((f) => f[1]);
  if (v2.includes("/sys/fs/cgroup")) return ok("cgroups", "cgroup v2 (unified) at /sys/fs/cgroup");
  if (v1.length > 0 && v2.length > 0)
    return ok("cgroups", `cgroup v1 hierarchies (${v1.length}) plus a v2 unified mount at ${v2.join(", ")}`);
  if (v1.length > 0) return ok("cgroups", `cgroup v1 hierarchies (${v1.length})`);
  if (v2.length > 0) return ok("cgroups", `cgroup v2 at ${v2.join(", ")}`);
  return warn(
    "cgroups",
    "no cgroup filesystem mounted",
    "mount cgroup2 at /sys/fs/cgroup (systemd does this)",
  );
}
