import { mkdirSync } from "node:fs";
import { MountFlags, mount } from "../../native/mount.js";
import { AgentError } from "../errors.js";
import type { BootConfig } from "./cmdline.js";

/** Kernel modules a shared filesystem type needs. */
export function sharedFsModules(type: "virtiofs" | "9p"): string[] {
  return type === "virtiofs" ? ["virtiofs"] : ["9p", "9pnet_virtio"];
}

/** Mounts the host-shared directory (virtio-fs or 9p) at `path`. */
export function mountSharedFs(share: NonNullable<BootConfig["sharedFs"]>, path: string): void {
  mkdirSync(path, { recursive: true });
  const data = share.type === "9p" ? "trans=virtio,version=9p2000.L,msize=524288,cache=mmap" : null;
  try {
    mount({ source: share.tag, target: path, fstype: share.type, flags: MountFlags.NODEV, data });
  } catch (cause) {
    throw new AgentError(
      "ERR_AGENT_SHARED_FS",
      `cannot mount ${share.type} share ${share.tag} on ${path}: ${(cause as Error).message}`,
      { cause },
    );
  }
}
