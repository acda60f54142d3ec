import { sethostname } from "../../native/system.js";
import type { Logger } from "../logger.js";
import { guestUptimeSeconds, setClockFromHost } from "./clock.js";
import type { BootConfig } from "./cmdline.js";
import { loadModules } from "./modules.js";
import { mountSharedFs, sharedFsModules } from "./shared-fs.js";

/** Modules the channel needs before the agent can serve. */
export function channelModules(cfg: BootConfig): string[] {
  return cfg.channel === "serial" ? ["virtio_console"] : ["vmw_vsock_virtio_transport"];
}

/** Modules loaded after the channel is up, off the critical path. */
export const LATE_MODULES = ["overlay", "virtio_net", "virtio_balloon"];

/**
 * PID-1 duties up to the point where the channel can open: early mounts, clock, hostname, the
 * channel's and the shared filesystem's modules, the shared filesystem mount.
 */
export async function earlyInit(cfg: BootConfig, log: Logger): Promise<void> {
  if (cfg.hostTimeMs !== undefined) {
    const correctionMs = setClockFromHost(cfg.hostTimeMs);
    log.debug({ correctionMs }, "guest clock set from host");
  }
  if (cfg.hostname !== undefined) sethostname(cfg.hostname);
  const modules = [...channelModules(cfg), ...(cfg.sharedFs ? sharedFsModules(cfg.sharedFs.type) : [])];
  const loaded = await loadModules(modules);
  log.debug({ loaded }, "kernel modules loaded");
  if (cfg.sharedFs) {
    mountSharedFs(cfg.sharedFs, cfg.sharedFsPath);
    log.info({ share: cfg.sharedFs, path: cfg.sharedFsPath }, "shared filesystem mounted");
  }
  log.info({ uptime: guestUptimeSeconds() }, "early init done");
}
