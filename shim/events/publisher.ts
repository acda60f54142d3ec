/**
 * Publishes task events to containerd over ttrpc (`Events/Forward` at $TTRPC_ADDRESS), in the
 * order they were published: one queue, one sender. A failed send is retried with backoff on a
 * fresh connection (containerd may be restarting); an event that still cannot be delivered
 * after the last attempt is logged and dropped so later events are not held up forever.
 */
import { connect } from "node:net";
import type { Duplex } from "node:stream";
import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { Logger } from "pino";
import { Events } from "../../protocol/generated/containerd/services/events/ttrpc/v1/events_pb.js";
import { Client } from "../../protocol/ttrpc/client.js";
import { createClient, type ServiceClient } from "../../protocol/ttrpc/service.js";
import { TOPICS, type Topic } from "./topics.js";

export interface PublisherOptions {
  /** containerd's ttrpc socket ($TTRPC_ADDRESS), with or without unix:// */
  address: string;
  namespace: string;
  log: Logger;
  /** Attempts per event (first try included). */
  attempts?: number;
  /** Backoff before the second attempt; doubles after each. */
  backoffMs?: number;
  callTimeoutMs?: number;
  dial?: (path: string) => Promise<Duplex>;
}

interface Queued {
  topic: Topic;
  event: Uint8Array;
  at: number;
}

export class EventPublisher {
  private readonly queue: Queued[] = [];
  private client: Client | undefined;
  private events: ServiceClient<typeof Events> | undefined;
  private draining: Promise<void> | undefined;
  private closed = false;
  private readonly path: string;

  constructor(private readonly opts: PublisherOptions) {
    this.path = opts.address.replace(/^unix:\/\//, "");
  }

  /** Queues an event; never throws and never blocks the caller. */
  publish<T extends Topic>(topic: T, event: MessageInitShape<(typeof TOPICS)[T]>): void {
    if (this.closed) {
      this.opts.log.warn({ topic }, "event published after the publisher closed: dropped");
      return;
    }
    const schema = TOPICS[topic];
    this.queue.push({ topic, event: toBinary(schema, create(schema, event as never)), at: Date.now() });
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
  }

  /** Resolves once every event queued so far was delivered or given up on. */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    this.client?.close();
  }

  private async drain(): Promise<void> {
    for (let next = this.queue.shift(); next; next = this.queue.shift()) await this.send(next);
  }

  private async send(item: Queued): Promise<void> {
    const attempts = this.opts.attempts ?? 5;
    let backoff = this.opts.backoffMs ?? 100;
    for (let attempt = 1; ; attempt++) {
      try {
        const events = await this.connection();
        await events.forward(
          {
            envelope: {
              timestamp: timestampFromMs(item.at),
              namespace: this.opts.namespace,
              topic: item.topic,
              event: { typeUrl: TOPICS[item.topic].typeName, value: item.event },
            },
          },
          { timeoutMs: this.opts.callTimeoutMs ?? 5000 },
        );
        return;
      } catch (err) {
        this.client?.close();
        this.client = undefined;
        if (attempt >= attempts) {
          this.opts.log.error({ err, topic: item.topic, attempts }, "could not publish event: dropped");
          return;
        }
        this.opts.log.warn({ err, topic: item.topic, attempt }, "publishing event failed, retrying");
        await new Promise((r) => setTimeout(r, backoff));
        backoff *= 2;
      }
    }
  }

  private async connection(): Promise<ServiceClient<typeof Events>> {
    if (this.client && !this.client.closed && this.events) return this.events;
    const stream = await (this.opts.dial ?? dialUnix)(this.path);
    this.client = new Client(stream, {
      metadata: new Map([["containerd-namespace-ttrpc", [this.opts.namespace]]]),
    });
    this.events = createClient(this.client, Events);
    return this.events;
  }
}

function dialUnix(path: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    sock.once("connect", () => {
      sock.off("error", reject);
      resolve(sock);
    });
    sock.once("error", reject);
  });
}
