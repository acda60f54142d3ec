/**
 * virtio-serial: QEMU listens on a unix socket backing the guest's `virtserialport`; the host
 * connects to it. The socket exists once QEMU is up; whether the agent has opened its end yet is
 * invisible here, so the first RPC (Health.Check) is what proves the agent is there.
 */
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { dialWithRetry } from "./retry.js";
import type { AgentTransport, ConnectOptions } from "./transport.js";

const RETRYABLE = new Set(["ENOENT", "ECONNREFUSED", "EAGAIN"]);

export class VirtioSerialTransport implements AgentTransport {
  readonly kind = "virtio-serial";
  constructor(readonly socketPath: string) {}

  get address(): string {
    return `virtio-serial unix:${this.socketPath}`;
  }

  connect(opts: ConnectOptions = {}): Promise<Duplex> {
    return dialWithRetry(
      this.address,
      opts,
      () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect(this.socketPath);
          socket.once("connect", () => {
            socket.off("error", reject);
            resolve(socket);
          });
          socket.once("error", reject);
        }),
      (err) => RETRYABLE.has((err as NodeJS.ErrnoException).code ?? ""),
    );
  }
}
