/**
 * CRI PortForward for a VM pod. containerd enters the pod netns on the host and dials
 * localhost:PORT, where nothing listens (the pod's processes run in the guest). This relay keeps,
 * inside the host-side pod netns, a listener on 127.0.0.1:PORT and [::1]:PORT for every TCP port
 * the guest listens on (ListListeningPorts, long-polled), and carries each accepted connection
 * over the agent channel (Open/Write/Read/CloseConnection) to 127.0.0.1:PORT in the guest's pod
 * netns. Back-pressure: host → guest sends one chunk at a time (the socket is paused meanwhile);
 * guest → host reads the next chunk only once the host socket has drained.
 */
import { createServer, type Server, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { listenTcpInNetns } from "../../native/netns-socket.js";
import type { AgentApi } from "../agent-client/agent-client.js";
import { NetworkError } from "./errors.js";

export interface PortForwarderOptions {
  netnsPath: string;
  agent: AgentApi;
  log: Logger;
  /** Bound of one ListListeningPorts long-poll (default 10 s). */
  pollWaitMs?: number;
  /** Loopback addresses to listen on (default 127.0.0.1 and ::1; ::1 is skipped where absent). */
  addresses?: string[];
}

const READ_CHUNK = 256 << 10;
const CALL_TIMEOUT_MS = 30_000;
const RETRY_MS = 1000;

export class PortForwarder {
  private readonly listeners = new Map<number, Server[]>();
  private readonly sockets = new Set<Socket>();
  private readonly stopping = new AbortController();
  private loop: Promise<void> = Promise.resolve();
  private readonly addresses: string[];

  private constructor(private readonly o: PortForwarderOptions) {
    this.addresses = o.addresses ?? ["127.0.0.1", "::1"];
  }

  /** Starts mirroring the guest's listening ports; the first set is in place when this resolves. */
  static async start(options: PortForwarderOptions): Promise<PortForwarder> {
    const f = new PortForwarder(options);
    const first = await options.agent
      .listListeningPorts({ known: [], waitMs: 0 }, { timeoutMs: CALL_TIMEOUT_MS })
      .catch((err: unknown) => {
        throw new NetworkError(
          "NETWORK_PORT_FORWARD_FAILED",
          `pod netns ${options.netnsPath}: cannot list the guest's listening ports: ${(err as Error).message}`,
          { cause: err },
        );
      });
    f.reconcile(first.ports);
    f.loop = f.follow();
    return f;
  }

  /** The ports with a listener now. */
  get ports(): number[] {
    return [...this.listeners.keys()].sort((a, b) => a - b);
  }

  /** Closes every listener and connection (guest sides included); resolves once all is closed. */
  async stop(): Promise<void> {
    if (this.stopping.signal.aborted) return this.loop;
    this.stopping.abort();
    const closing = [...this.listeners.values()].flat().map((s) => new Promise((r) => s.close(r)));
    this.listeners.clear();
    for (const s of this.sockets) s.destroy();
    await Promise.all([...closing, this.loop]);
  }

  private async follow(): Promise<void> {
    const signal = this.stopping.signal;
    const waitMs = this.o.pollWaitMs ?? 10_000;
    while (!signal.aborted) {
      try {
        const r = await this.o.agent.listListeningPorts(
          { known: this.ports, waitMs },
          { timeoutMs: waitMs + CALL_TIMEOUT_MS, signal },
        );
        if (!signal.aborted) this.reconcile(r.ports);
      } catch (err) {
        if (signal.aborted) return;
        this.o.log.warn({ err: (err as Error).message }, "port forward: listing the guest's ports failed");
        await sleep(RETRY_MS, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  private reconcile(ports: readonly number[]): void {
    const wanted = new Set(ports);
    for (const [port, servers] of this.listeners) {
      if (wanted.has(port)) continue;
      for (const s of servers) s.close();
      this.listeners.delete(port);
      this.o.log.debug({ port }, "port forward: guest stopped listening");
    }
    for (const port of wanted) {
      if (this.listeners.has(port)) continue;
      const servers: Server[] = [];
      for (const address of this.addresses) {
        try {
          const fd = listenTcpInNetns(this.o.netnsPath, address, port);
          const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) =>
            this.relay(port, s),
          );
          server.on("error", (err) =>
            this.o.log.warn({ port, address, err: err.message }, "port forward listener"),
          );
          server.listen({ fd });
          servers.push(server);
        } catch (err) {
          // e.g. no ::1 in a netns without IPv6, or the port taken on the host side
          this.o.log.debug({ port, address, err: (err as Error).message }, "port forward: cannot listen");
        }
      }
      this.listeners.set(port, servers);
      this.o.log.debug({ port, listeners: servers.length }, "port forward: listening");
    }
  }

  private async relay(port: number, socket: Socket): Promise<void> {
    const { agent, log } = this.o;
    this.sockets.add(socket);
    let id: bigint | undefined;
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      socket.destroy();
      this.sockets.delete(socket);
      if (id !== undefined)
        agent.closeConnection({ connectionId: id }, { timeoutMs: CALL_TIMEOUT_MS }).catch(() => undefined);
    };
    socket.on("error", close);
    socket.on("close", close);
    try {
      id = (await agent.openConnection({ port }, { timeoutMs: CALL_TIMEOUT_MS })).connectionId;
    } catch (err) {
      log.debug({ port, err: (err as Error).message }, "port forward: guest refused");
      close();
      return;
    }
    if (closed) {
      close();
      return;
    }
    const connectionId = id;
    // host → guest
    let hostEnded = false;
    let guestEnded = false;
    const finishIfDone = () => {
      if (hostEnded && guestEnded) close();
    };
    socket.on("data", (chunk: Buffer) => {
      socket.pause();
      agent.writeConnection({ connectionId, data: chunk }, { timeoutMs: CALL_TIMEOUT_MS }).then(() => {
        if (!closed) socket.resume();
      }, close);
    });
    socket.on("end", () => {
      agent.writeConnection({ connectionId, closeWrite: true }, { timeoutMs: CALL_TIMEOUT_MS }).then(() => {
        hostEnded = true;
        finishIfDone();
      }, close);
    });
    socket.resume();
    // guest → host
    try {
      for (;;) {
        const r = await agent.readConnection(
          { connectionId, maxBytes: READ_CHUNK },
          { signal: this.stopping.signal },
        );
        if (closed) return;
        if (r.data.length > 0 && !socket.write(r.data)) {
          await new Promise<void>((resolve) => {
            socket.once("drain", resolve);
            socket.once("close", resolve);
          });
        }
        if (r.eof) break;
      }
      socket.end();
      guestEnded = true;
      finishIfDone();
    } catch {
      close();
    }
  }
}
