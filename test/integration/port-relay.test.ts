/**
 * The guest end of port forwarding (agent/network/connections.ts) on the host, no VM: connections
 * dialled inside a netns of our own, bounded buffering, EOF both ways, refusal and close.
 */
import { execFileSync } from "node:child_process";
import { randomInt } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectionTable, HIGH_WATER } from "../../agent/network/connections.js";
import { GuestNetworkError } from "../../agent/network/errors.js";
import { listenTcpInNetns } from "../../native/netns-socket.js";

const nsName = `tsktest-relay${process.pid % 10000}${randomInt(100, 999)}`;
const netnsPath = `/var/run/netns/${nsName}`;
const PORT = 18080;
const BIG = 3 * HIGH_WATER;
let server: Server;
let lastPeer: Socket | undefined;
let received = Buffer.alloc(0);

beforeAll(async () => {
  execFileSync("ip", ["netns", "add", nsName]);
  execFileSync("ip", ["netns", "exec", nsName, "ip", "link", "set", "lo", "up"]);
  // a server inside the netns: "big" → BIG bytes then end; anything else is collected
  server = createServer({ allowHalfOpen: true }, (s) => {
    lastPeer = s;
    received = Buffer.alloc(0);
    s.on("data", (d: Buffer) => {
      if (d.toString() === "big") s.end(Buffer.alloc(BIG, 1));
      else received = Buffer.concat([received, d]);
    });
    s.on("end", () => s.end("bye"));
  });
  await new Promise<void>((r) => server.listen({ fd: listenTcpInNetns(netnsPath, "127.0.0.1", PORT) }, r));
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  execFileSync("ip", ["netns", "del", nsName]);
});

async function readAll(table: ConnectionTable, id: bigint): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (;;) {
    const r = await table.read(id, 256 << 10);
    if (r.eof) return Buffer.concat(parts);
    parts.push(Buffer.from(r.data));
  }
}

describe("ConnectionTable (agent's forwarded connections)", () => {
  it("relays both ways with half-close: the host's EOF reaches the server, the server's answer and EOF come back", async () => {
    const table = new ConnectionTable();
    const id = table.open(netnsPath, PORT);
    await table.write(id, Buffer.from("hello"), true);
    expect((await readAll(table, id)).toString()).toBe("bye");
    expect(received.toString()).toBe("hello");
    table.close(id);
    expect(table.size).toBe(0);
  });

  it("buffers at most about HIGH_WATER unread bytes (the socket is paused), and loses none", async () => {
    const table = new ConnectionTable();
    const id = table.open(netnsPath, PORT);
    await table.write(id, Buffer.from("big"), false);
    await new Promise((r) => setTimeout(r, 300)); // let the server push while nobody reads
    const first = await table.read(id, BIG);
    expect(first.data.length).toBeGreaterThan(0);
    expect(first.data.length).toBeLessThan(HIGH_WATER + (256 << 10));
    const rest = await readAll(table, id);
    expect(first.data.length + rest.length).toBe(BIG);
    table.closeAll();
  });

  it("a closed connection wakes a pending read with EOF and is gone for later calls", async () => {
    const table = new ConnectionTable();
    const id = table.open(netnsPath, PORT);
    const pending = table.read(id, 1024);
    table.close(id);
    expect(await pending).toEqual({ data: new Uint8Array(), eof: true });
    await expect(table.read(id, 1)).rejects.toMatchObject({ code: "ERR_CONNECTION_NOT_FOUND" });
    lastPeer?.destroy();
  });

  it("a port nobody listens on is refused, naming the port", () => {
    const table = new ConnectionTable();
    let err: unknown;
    try {
      table.open(netnsPath, PORT + 1);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GuestNetworkError);
    expect((err as GuestNetworkError).code).toBe("ERR_CONNECTION_REFUSED");
    expect((err as Error).message).toContain(String(PORT + 1));
    expect(table.size).toBe(0);
  });
});
