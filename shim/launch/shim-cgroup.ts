/**
 * runc's ShimCgroup: the shim daemon is moved into the named cgroup, as containerd's runc shim
 * does right after starting its daemon (cgroups Load + Add of the pid). Every hierarchy mounted
 * on the host counts (the cgroup v1 controllers and the v2 `unified` mount of a hybrid host, or
 * the v2 root alone): the pid is written to `cgroup.procs` of `<mount><path>` wherever that
 * directory exists, and the cgroup must exist in at least one. What the daemon starts later
 * (QEMU, virtiofsd) inherits the placement; processes already running are moved with it.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export class ShimCgroupError extends Error {
  override readonly name = "ShimCgroupError";
  readonly code = "SHIM_CGROUP_UNAVAILABLE";
}

/** Mount points of cgroup (v1) and cgroup2 filesystems, from /proc/self/mountinfo. */
export function cgroupMounts(mountinfo = readFileSync("/proc/self/mountinfo", "utf8")): string[] {
  const mounts: string[] = [];
  for (const line of mountinfo.split("\n")) {
    const [pre, post] = line.split(" - ");
    const fstype = post?.split(" ")[0];
    if (fstype !== "cgroup" && fstype !== "cgroup2") continue;
    const point = pre?.split(" ")[4];
    if (point)
      mounts.push(
        point.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))),
      );
  }
  return mounts;
}

/** Places `pids` in `cgroup` in every hierarchy that has it; returns the directories written. */
export function placeInCgroup(cgroup: string, pids: readonly number[], mounts = cgroupMounts()): string[] {
  if (cgroup.split("/").includes("..")) throw new ShimCgroupError(`shim cgroup ${cgroup}: not a cgroup path`);
  const dirs = mounts.map((m) => join(m, cgroup)).filter((d) => existsSync(join(d, "cgroup.procs")));
  if (dirs.length === 0) {
    throw new ShimCgroupError(
      `shim cgroup ${cgroup} (io.containerd.runc.v1 ShimCgroup) exists in none of the host's cgroup hierarchies (${mounts.join(", ") || "none mounted"})`,
    );
  }
  for (const dir of dirs) {
    for (const pid of pids) {
      try {
        writeFileSync(join(dir, "cgroup.procs"), String(pid));
      } catch (err) {
        throw new ShimCgroupError(`cannot move pid ${pid} into ${dir}: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
  }
  return dirs;
}
