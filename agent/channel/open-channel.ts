import { AgentError } from "../errors.js";
import type { BootConfig } from "../init/cmdline.js";
import type { Logger } from "../logger.js";
import type { HostChannel } from "./host-channel.js";
import { SerialChannel } from "./serial-channel.js";

/** The channel the boot configuration asks for. */
export function openChannel(cfg: BootConfig, log: Logger): HostChannel {
  switch (cfg.channel) {
    case "serial":
      return new SerialChannel(cfg.serialPort, log);
    case "vsock":
      // Listening on AF_VSOCK needs socket/bind/listen/accept through native/ and a Duplex over
      // the accepted fd; not done yet. The host falls back to virtio-serial (no vhost-vsock here).
      throw new AgentError(
        "ERR_AGENT_TRANSPORT_UNSUPPORTED",
        `the agent cannot listen on vsock port ${cfg.vsockPort} yet: boot it with tskata.channel=serial`,
      );
  }
}
