/**
 * The guest end of port forwarding: TCP connections to 127.0.0.1:PORT (or [::1]:PORT) inside the
 * pod netns, driven by the host through Open/Write/Read/CloseConnection. What the guest server
 * sends is buffered up to HIGH_WATER bytes; beyond that the socket is paused until the host reads
 * (ReadConnection long-polls until data, EOF or cancellation).
 */
import { Socket } from "node:net";
import { connectTcpInNetns } from "../../native/netns-socket.js";
import { GuestNetworkError } from "./errors.js";

export const HIGH_WATER = 1 << 20;
export const MAX_CONNECTIONS = 1024;

interface Relay {
  socket: Socket;
  chunks: Buffer[];
  buffered: number;
  eof: boolean;
  wake: (() => void) | undefined;
}

export class ConnectionTable {
  private readonly relays = new Map<bigint, Relay>();
  private nextId = 1n;

  get size(): number {
    return this.relays.size;
  }

  /** Dials the port inside the netns (IPv4 loopback first, then IPv6). */
  open(netnsPath: string, port: number): bigint {
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new GuestNetworkError("ERR_NETWORK_INVALID", `port ${port} is out of range`);
    if (this.relays.size >= MAX_CONNECTIONS)
      throw new GuestNetworkError(
        "ERR_CONNECTION_LIMIT",
        `${MAX_CONNECTIONS} forwarded connections are open`,
      );
    let fd: number | undefined;
    const errors: string[] = [];
    for (const address of ["127.0.0.1", "::1"]) {
      try {
        fd = connectTcpInNetns(netnsPath, address, port);
        break;
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    if (fd === undefined)
      throw new GuestNetworkError("ERR_CONNECTION_REFUSED", `port ${port} in the pod: ${errors.join("; ")}`);
    const socket = new Socket({ fd, readable: true, writable: true, allowHalfOpen: true });
    const id = this.nextId++;
    const relay: Relay = { socket, chunks: [], buffered: 0, eof: false, wake: undefined };
    const wake = () => {
      const w = relay.wake;
      relay.wake = undefined;
      w?.();
    };
    socket.on("data", (chunk: Buffer) => {
      relay.chunks.push(chunk);
      relay.buffered += chunk.length;
      if (relay.buffered >= HIGH_WATER) socket.pause();
      wake();
    });
    const ended = () => {
      relay.eof = true;
      wake();
    };
    socket.on("end", ended);
    socket.on("error", ended);
    socket.on("close", ended);
    this.relays.set(id, relay);
    return id;
  }

  /** Up to maxBytes of what the guest side sent; waits for data, EOF or the signal. */
  async read(
    id: bigint,
    maxBytes: number,
    signal?: AbortSignal,
  ): Promise<{ data: Uint8Array; eof: boolean }> {
    const relay = this.get(id);
    while (relay.buffered === 0 && !relay.eof) {
      if (signal?.aborted) return { data: new Uint8Array(), eof: false };
      await new Promise<void>((resolve) => {
        const onAbort = () => resolve();
        relay.wake = () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    }
    if (relay.buffered === 0) return { data: new Uint8Array(), eof: true };
    const parts: Buffer[] = [];
    let taken = 0;
    while (relay.chunks.length > 0 && taken < maxBytes) {
      const head = relay.chunks[0]!;
      const n = Math.min(head.length, maxBytes - taken);
      parts.push(head.subarray(0, n));
      taken += n;
      if (n === head.length) relay.chunks.shift();
      else relay.chunks[0] = head.subarray(n);
    }
    relay.buffered -= taken;
    if (relay.buffered < HIGH_WATER / 2 && relay.socket.isPaused() && !relay.eof) relay.socket.resume();
    return { data: Buffer.concat(parts), eof: false };
  }

  /** Writes to the guest side; resolves once the data is handed to the kernel. */
  async write(id: bigint, data: Uint8Array, closeWrite: boolean): Promise<number> {
    const relay = this.get(id);
    if (data.length > 0) {
      await new Promise<void>((resolve, reject) => {
        relay.socket.write(data, (err) => (err ? reject(err) : resolve()));
      }).catch((err: Error) => {
        throw new GuestNetworkError("ERR_NETWORK_COMMAND", `connection ${id}: ${err.message}`);
      });
    }
    if (closeWrite) relay.socket.end();
    return data.length;
  }

  close(id: bigint): void {
    const relay = this.relays.get(id);
    if (!relay) return;
    this.relays.delete(id);
    relay.socket.destroy();
    relay.eof = true;
    relay.wake?.();
  }

  closeAll(): void {
    for (const id of [...this.relays.keys()]) this.close(id);
  }

  private get(id: bigint): Relay {
    const relay = this.relays.get(id);
    if (!relay) throw new GuestNetworkError("ERR_CONNECTION_NOT_FOUND", `no forwarded connection ${id}`);
    return relay;
  }
}
