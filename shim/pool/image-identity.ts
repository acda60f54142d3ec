/**
 * What a VM booted, as one hash both the pool and a shim compute from their configuration: the
 * kernel, root image and initrd (path, size, mtime, inode: a rebuilt guest image changes it
 * without hashing hundreds of MB on every pod start), the kernel command line, the machine type,
 * the agent channel and shared-filesystem settings. A pooled VM is handed only to a shim whose
 * identity matches.
 */
import { createHash } from "node:crypto";
import { statSync } from "node:fs";
import type { TskataConfig } from "../config/types.js";

function fileStamp(path: string | undefined): string {
  if (!path) return "-";
  try {
    const s = statSync(path);
    return `${path}:${s.size}:${Math.floor(s.mtimeMs)}:${s.ino}`;
  } catch {
    return `${path}:missing`;
  }
}

export function imageIdentity(config: TskataConfig): string {
  const h = config.hypervisor;
  const parts = [
    fileStamp(h.kernel),
    fileStamp(h.image),
    fileStamp(h.initrd),
    h.kernelParams,
    h.path,
    h.machineType,
    h.cpuModel,
    h.sharedFs,
    h.virtiofsCache,
    h.agentTransport,
    config.agent.serialPortName,
    String(config.agent.vsockPort),
    String(h.freePageReporting),
    String(h.tcgTbSizeMib),
  ];
  return createHash("sha256").update(parts.join("\n")).digest("hex").slice(0, 32);
}
