/** vsock: AF_VSOCK connect to the guest CID and the agent's port (needs a usable /dev/vhost-vsock). */
import { constants } from "node:fs";
import { access, open } from "node:fs/promises";
import type { Duplex } from "node:stream";
import { VsockError, vsockConnect, vsockSupported } from "../../../native/vsock.js";
import { dialWithRetry } from "./retry.js";
import type { AgentTransport, ConnectOptions } from "./transport.js";

/** The guest is still booting or the agent is not listening yet. */
const RETRYABLE = new Set(["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "ENODEV", "EHOSTUNREACH"]);

export class VsockTransport implements AgentTransport {
  readonly kind = "vsock";
  constructor(
    readonly guestCid: number,
    readonly port: number,
  ) {}

  get address(): string {
    return `vsock ${this.guestCid}:${this.port}`;
  }

  connect(opts: ConnectOptions = {}): Promise<Duplex> {
    return dialWithRetry(
      this.address,
      opts,
      () => vsockConnect(this.guestCid, this.port, 1000),
      (err) => err instanceof VsockError && RETRYABLE.has(err.code),
    );
  }
}

export type VsockAvailability = { usable: true } | { usable: false; reason: string };

/** vhost-vsock needs the host device (for QEMU) and AF_VSOCK sockets (for the shim). */
export async function vhostVsockAvailability(device = "/dev/vhost-vsock"): Promise<VsockAvailability> {
  try {
    await access(device, constants.F_OK);
  } catch {
    return { usable: false, reason: `${device} does not exist (vhost_vsock module not loaded)` };
  }
  try {
    await (await open(device, constants.O_RDWR)).close();
  } catch (err) {
    return { usable: false, reason: `cannot open ${device}: ${(err as NodeJS.ErrnoException).code}` };
  }
  if (!vsockSupported()) return { usable: false, reason: "the kernel refuses AF_VSOCK sockets" };
  return { usable: true };
}
