/** How the host reaches the in-guest agent: one byte stream that ttrpc multiplexes. */
import type { Duplex } from "node:stream";

export type TransportKind = "virtio-serial" | "vsock";

export interface ConnectOptions {
  /** Keep retrying until this many ms have passed (the guest may still be booting). */
  timeoutMs?: number;
  /** Aborts the retries at once (e.g. the VM died). */
  signal?: AbortSignal;
}

export interface AgentTransport {
  readonly kind: TransportKind;
  /** Human-readable address for logs and errors. */
  readonly address: string;
  connect(opts?: ConnectOptions): Promise<Duplex>;
}
