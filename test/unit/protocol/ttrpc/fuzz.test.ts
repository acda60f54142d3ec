/**
 * 10,000 random and mutated frames thrown at a real server over unix sockets. Each case runs on
 * its own connection and ends with a half-close, so every case must end in a response frame or
 * a closed connection — never a hang — and the server must keep serving with bounded memory.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "../../../../protocol/ttrpc/codes.js";
import { decodeResponse, encodeRequest } from "../../../../protocol/ttrpc/envelope.js";
import { encodeFrame, FrameReader, FrameType, isOversized } from "../../../../protocol/ttrpc/frame.js";
import { type ServerFixture, startServer } from "../../../support/ttrpc-pair.js";

const CASES = 10_000;
const PARALLEL = 32;
const SVC = "tskata.test.v1.Fuzz";

/** Deterministic PRNG (mulberry32) so a failing case can be replayed from its index. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function validRequest(id: number, payload: Uint8Array): Buffer {
  return encodeFrame(
    id,
    FrameType.REQUEST,
    0,
    encodeRequest({ service: SVC, method: "Echo", payload, timeoutNano: 0n }),
  );
}

function mutate(seed: number): Buffer {
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const base = validRequest(2 * int(1000) + 1, bytes(int(64)));
  switch (seed % 8) {
    case 0: // pure noise
      return bytes(int(200));
    case 1: {
      // bit flips anywhere, header included
      const b = Buffer.from(base);
      for (let i = 0, n = 1 + int(6); i < n; i++) b[int(b.length)]! ^= 1 << int(8);
      return b;
    }
    case 2: // a valid header with a random payload
      return encodeFrame(2 * int(1000) + 1, 1 + int(3), int(8), bytes(int(300)));
    case 3: // truncated anywhere
      return base.subarray(0, int(base.length));
    case 4: {
      // random type and flags
      const b = Buffer.from(base);
      b[8] = int(256);
      b[9] = int(256);
      return b;
    }
    case 5: {
      // length field lies (too long, too short, beyond the limit)
      const b = Buffer.from(base);
      b.writeUInt32BE([0, 1, b.length * 3, 0x400001, 0xffffffff][int(5)]!, 0);
      return b;
    }
    case 6: {
      // a valid frame whose payload bytes are shuffled
      const b = Buffer.from(base);
      for (let i = 10; i < b.length; i++) {
        const j = 10 + int(b.length - 10);
        [b[i], b[j]] = [b[j]!, b[i]!];
      }
      return b;
    }
    default:
      // several valid and broken frames back to back
      return Buffer.concat([base, bytes(int(30)), validRequest(2 * int(1000) + 1, bytes(8))]);
  }
}

type Outcome = "response" | "closed";

describe("ttrpc server under fuzzed frames", () => {
  let fx: ServerFixture;
  beforeAll(async () => {
    fx = await startServer();
    fx.server.register(SVC, new Map([["Echo", (p: Uint8Array) => p]]));
  });
  afterAll(async () => fx.close());

  async function runCase(seed: number): Promise<Outcome> {
    const sock = await fx.rawConnect();
    const reader = new FrameReader();
    let responses = 0;
    return new Promise<Outcome>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`case ${seed}: no response and no close within 5 s`)),
        5000,
      );
      sock.on("data", (chunk: Buffer) => {
        for (const f of reader.push(chunk)) {
          if (isOversized(f) || f.type !== FrameType.RESPONSE) {
            reject(new Error(`case ${seed}: server sent a non-response frame`));
            return;
          }
          decodeResponse(f.payload); // every answer must be a well-formed Response
          responses++;
        }
      });
      sock.on("error", () => {});
      sock.on("close", () => {
        clearTimeout(timer);
        resolve(responses > 0 ? "response" : "closed");
      });
      sock.end(mutate(seed));
    });
  }

  it("survives 10,000 random and mutated frames with every case answered or closed, memory bounded", async () => {
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const outcomes = { response: 0, closed: 0 };
    let next = 0;
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        while (next < CASES) outcomes[await runCase(next++)]++;
      }),
    );
    expect(outcomes.response + outcomes.closed).toBe(CASES);
    expect(outcomes.response).toBeGreaterThan(CASES / 4);
    // All fuzz connections are gone and the server still answers a well-formed call.
    await new Promise((r) => setTimeout(r, 50));
    expect(fx.server.connectionCount).toBe(0);
    const c = await fx.connect();
    expect(new TextDecoder().decode(await c.call(SVC, "Echo", new TextEncoder().encode("alive")))).toBe(
      "alive",
    );
    await expect(c.call(SVC, "Missing", new Uint8Array())).rejects.toMatchObject({
      code: Code.UNIMPLEMENTED,
    });
    global.gc?.();
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
  }, 120_000);
});
