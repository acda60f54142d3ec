/**
 * Makes a host directory a shared mount point (bind-mounted onto itself, propagation rshared).
 * virtiofsd serves each sandbox from a private mount namespace whose mounts are slaves of the
 * host's; only below a shared mount do the rootfs and volume mounts the shim makes after the VM
 * started propagate into virtiofsd, and so into the guest. Done once per state directory.
 */
import { mkdirSync } from "node:fs";
import { MountFlags, mount } from "../../native/mount.js";
import { isMountPoint } from "./rootfs.js";

export function ensureSharedMount(dir: string): void {
  mkdirSync(dir, { recursive: true });
  if (!isMountPoint(dir)) {
    mount({ source: dir, target: dir, fstype: null, flags: MountFlags.BIND | MountFlags.REC });
  }
  mount({ source: null, target: dir, fstype: null, flags: MountFlags.SHARED | MountFlags.REC });
}
