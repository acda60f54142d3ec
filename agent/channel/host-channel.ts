import type { Duplex } from "node:stream";

/**
 * The agent's link to the host. A channel delivers one byte stream per host connection
 * ("session"); the agent serves ttrpc on each. The host may connect any number of times.
 */
export interface HostChannel {
  /** e.g. "virtio-serial agent.0 (/dev/vport0p1)" */
  readonly description: string;
  /** Starts delivering sessions; resolves once the channel is open and waiting for the host. */
  start(onSession: (stream: Duplex) => void): Promise<void>;
  /** Stops: ends the current session and releases the device or socket. */
  close(): void;
}
