/**
 * The container's host cgroup, as runc makes it from the bundle's `linux.cgroupsPath`: the
 * stand-in moves itself there before it boots the VM, so QEMU and virtiofsd land there too. What
 * a caller reads from it (containerd's runc shim reads the init pid's cgroup for `docker stats`,
 * and watches it for OOM) is then what the container costs the host — the VM and its helpers —
 * rather than whatever cgroup the caller ran the runtime in. cgroup v2 (unified) or v1 (one
 * directory per controller); only cgroupfs-style absolute paths (`/docker/<id>`): with
 * `--systemd-cgroup` the path names a systemd unit, left as it is.
 */
import { existsSync, mkdirSync, realpathSync, rmdirSync, writeFileSync } from "node:fs";
import { isAbsolute, join, normalize } from "node:path";

const CGROUP_ROOT = "/sys/fs/cgroup";
/** v1 controllers whose figures callers read; cpuset needs cpus/mems set before any task joins. */
const V1_CONTROLLERS = ["memory", "cpu", "cpuacct", "pids", "blkio"];
const V2_CONTROLLERS = ["cpu", "memory", "pids", "io"];

/** The cgroup directories `cgroupsPath` names on this host ([] when it names none we make). */
export function hostCgroupDirs(cgroupsPath: string | undefined, systemdCgroup: boolean): string[] {
  if (!cgroupsPath || systemdCgroup || !isAbsolute(cgroupsPath) || cgroupsPath.includes(":")) return [];
  const rel = normalize(cgroupsPath).replace(/^\/+/, "");
  if (rel === "" || rel.split("/").includes("..")) return [];
  if (existsSync(join(CGROUP_ROOT, "cgroup.controllers"))) return [join(CGROUP_ROOT, rel)];
  const roots = new Set<string>();
  for (const c of V1_CONTROLLERS) {
    const dir = join(CGROUP_ROOT, c);
    if (existsSync(join(dir, "cgroup.procs"))) roots.add(realpathSync(dir));
  }
  return [...roots].map((r) => join(r, rel));
}

/** Makes each directory (and, on v2, enables the controllers on the way) and moves `pid` in. */
export function joinHostCgroups(dirs: string[], pid: number): void {
  for (const dir of dirs) {
    if (dir.startsWith(`${CGROUP_ROOT}/`) && existsSync(join(CGROUP_ROOT, "cgroup.controllers"))) {
      // v2: a controller's files exist in a cgroup only when its parent delegates it
      let at = CGROUP_ROOT;
      for (const part of dir.slice(CGROUP_ROOT.length + 1).split("/")) {
        for (const c of V2_CONTROLLERS) {
          try {
            writeFileSync(join(at, "cgroup.subtree_control"), `+${c}`);
          } catch {
            // not available here, or the cgroup holds processes: its figures stay out
          }
        }
        at = join(at, part);
        mkdirSync(at, { recursive: true });
      }
    } else mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "cgroup.procs"), String(pid));
  }
}

/** Removes the container's cgroups once their processes are gone (the parents stay, as runc's). */
export async function removeHostCgroups(dirs: string[], withinMs = 2000): Promise<void> {
  for (const dir of dirs) {
    const deadline = Date.now() + withinMs;
    for (;;) {
      try {
        rmdirSync(dir);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOENT") break;
        // EBUSY while an exiting process is still counted in it
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
}
