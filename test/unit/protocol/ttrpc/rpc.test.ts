import { create, toBinary } from "@bufbuild/protobuf";
import { afterEach, describe, expect, it } from "vitest";
import { WaitProcessResponseSchema } from "../../../../protocol/generated/tskata/agent/v1/agent_pb.js";
import {
  CheckRequestSchema,
  CheckResponse_ServingStatus,
  Health,
} from "../../../../protocol/generated/tskata/agent/v1/health_pb.js";
import { Code } from "../../../../protocol/ttrpc/codes.js";
import { decodeResponse, encodeRequest } from "../../../../protocol/ttrpc/envelope.js";
import { TtrpcError } from "../../../../protocol/ttrpc/errors.js";
import {
  encodeFrame,
  FrameReader,
  FrameType,
  isOversized,
  MAX_MESSAGE_SIZE,
} from "../../../../protocol/ttrpc/frame.js";
import type { CallContext, Handler } from "../../../../protocol/ttrpc/server.js";
import { createClient, registerService } from "../../../../protocol/ttrpc/service.js";
import { type ServerFixture, startServer } from "../../../support/ttrpc-pair.js";

const SVC = "tskata.test.v1.Raw";
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let fx: ServerFixture;
const aborted: string[] = [];

async function rawServer(): Promise<ServerFixture> {
  const f = await startServer();
  f.server.register(
    SVC,
    new Map<string, Handler>([
      ["Echo", (p: Uint8Array) => p],
      [
        "Sleep",
        async (p: Uint8Array) => {
          await sleep(Number(dec(p)));
          return p;
        },
      ],
      [
        "Hang",
        (_p: Uint8Array, ctx: CallContext) =>
          new Promise<Uint8Array>((_resolve, reject) => {
            ctx.signal.addEventListener("abort", () => {
              aborted.push(`${ctx.method}:${(ctx.signal.reason as TtrpcError).code}`);
              reject(ctx.signal.reason);
            });
          }),
      ],
      [
        "Fail",
        () => {
          throw new TtrpcError(Code.NOT_FOUND, "container c1 not found");
        },
      ],
      [
        "Throw",
        async () => {
          throw new Error("plain failure");
        },
      ],
      ["Meta", (_p: Uint8Array, ctx: CallContext) => enc(JSON.stringify([...ctx.metadata]))],
      ["Deadline", (_p: Uint8Array, ctx: CallContext) => enc(String(ctx.deadline ?? "none"))],
      ["Big", () => new Uint8Array(MAX_MESSAGE_SIZE + 1)],
    ]),
  );
  return f;
}

/** Sends raw frames on a fresh connection and collects the decoded responses by stream id. */
async function rawExchange(frames: Buffer[], expect: number) {
  const sock = await fx.rawConnect();
  const reader = new FrameReader();
  const got = new Map<number, { code: number; message: string; payload: Uint8Array }>();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${got.size}/${expect} responses`)), 5000);
    sock.on("data", (chunk: Buffer) => {
      for (const f of reader.push(chunk)) {
        if (isOversized(f)) continue;
        const r = decodeResponse(f.payload);
        got.set(f.streamId, {
          code: r.status?.code ?? 0,
          message: r.status?.message ?? "",
          payload: r.payload,
        });
      }
      if (got.size >= expect) {
        clearTimeout(timer);
        resolve();
      }
    });
    for (const f of frames) sock.write(f);
  });
  sock.destroy();
  return got;
}

function request(id: number, method: string, payload: Uint8Array, timeoutNano = 0n): Buffer {
  return encodeFrame(id, FrameType.REQUEST, 0, encodeRequest({ service: SVC, method, payload, timeoutNano }));
}

afterEach(async () => {
  await fx?.close();
});

describe("ttrpc client and server", () => {
  it("round-trips a unary call", async () => {
    fx = await rawServer();
    const c = await fx.connect();
    expect(dec(await c.call(SVC, "Echo", enc("hello")))).toBe("hello");
  });

  it("multiplexes 1000 concurrent calls on one connection, replies out of order, each to its caller", async () => {
    fx = await rawServer();
    const c = await fx.connect();
    const delays = Array.from({ length: 1000 }, (_, i) => (i * 7919) % 40);
    const replies = await Promise.all(delays.map((d) => c.call(SVC, "Sleep", enc(String(d)))));
    expect(replies.map(dec)).toEqual(delays.map(String));
    expect(c.inFlight).toBe(0);
    expect(fx.server.connectionCount).toBe(1);
  });

  it("answers in completion order, not request order", async () => {
    fx = await rawServer();
    const got = await rawExchange([request(1, "Sleep", enc("150")), request(3, "Sleep", enc("1"))], 2);
    expect([...got.keys()]).toEqual([3, 1]);
  });

  it("fails a call locally when its deadline passes and the server is silent", async () => {
    fx = await rawServer();
    const c = await fx.connect();
    const t0 = Date.now();
    await expect(c.call(SVC, "Hang", enc(""), { timeoutMs: 100 })).rejects.toMatchObject({
      code: Code.DEADLINE_EXCEEDED,
    });
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it("enforces timeout_nano on the server: answers DEADLINE_EXCEEDED and aborts the handler", async () => {
    fx = await rawServer();
    aborted.length = 0;
    const got = await rawExchange([request(1, "Hang", enc(""), 50_000_000n)], 1);
    expect(got.get(1)?.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(got.get(1)?.message).toContain("deadline");
    expect(aborted).toEqual([`Hang:${Code.DEADLINE_EXCEEDED}`]);
  });

  it("passes the deadline to the handler and sends none when no timeout is set", async () => {
    fx = await rawServer();
    const c = await fx.connect();
    const before = Date.now();
    const withDeadline = Number(dec(await c.call(SVC, "Deadline", enc(""), { timeoutMs: 5000 })));
    expect(withDeadline).toBeGreaterThanOrEqual(before + 4900);
    expect(dec(await c.call(SVC, "Deadline", enc("")))).toBe("none");
  });

  it("cancels a call through its AbortSignal, and rejects one already aborted", async () => {
    fx = await rawServer();
    const c = await fx.connect();
    const ac = new AbortController();
    const p = c.call(SVC, "Hang", enc(""), { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await expect(p).rejects.toMatchObject({ code: Code.CANCELLED });
    await expect(c.call(SVC, "Echo", enc("x"), { signal: ac.signal })).rejects.toMatchObject({
      code: Code.CANCELLED,
    });
    expect(dec(await c.call(SVC, "Echo", enc("still fine")))).toBe("still fine");
  });

  it("carries a handler's status code and message to the caller; other errors become UNKNOWN", async () => {
    fx = await rawServer();
    const c = await fx.connect();
    const err = await c.call(SVC, "Fail", enc("")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TtrpcError);
    expect(err).toMatchObject({ code: Code.NOT_FOUND, message: "container c1 not found" });
    expect(String(err)).toBe("NOT_FOUND: container c1 not found");
    await expect(c.call(SVC, "Throw", enc(""))).rejects.toMatchObject({
      code: Code.UNKNOWN,
      message: "plain failure",
    });
  });

  it("answers UNIMPLEMENTED for an unknown service or method, naming it", async () => {
    fx = await rawServer();
    const c = await fx.connect();
    await expect(c.call("no.such.Service", "X", enc(""))).rejects.toMatchObject({
      code: Code.UNIMPLEMENTED,
      message: "service no.such.Service: not implemented",
    });
    await expect(c.call(SVC, "Nope", enc(""))).rejects.toMatchObject({
      code: Code.UNIMPLEMENTED,
      message: `method ${SVC}/Nope: not implemented`,
    });
  });

  it("sends metadata, client-wide and per call, with repeated keys kept in order", async () => {
    fx = await rawServer();
    const c = await fx.connect({ metadata: new Map([["containerd-namespace-ttrpc", ["k8s.io"]]]) });
    const md = JSON.parse(
      dec(await c.call(SVC, "Meta", enc(""), { metadata: new Map([["x", ["1", "2"]]]) })),
    ) as [string, string[]][];
    expect(md).toEqual([
      ["containerd-namespace-ttrpc", ["k8s.io"]],
      ["x", ["1", "2"]],
    ]);
  });

  it("answers an oversized request frame RESOURCE_EXHAUSTED and keeps serving the connection", async () => {
    fx = await rawServer();
    const big = Buffer.concat([
      Buffer.from([0, 0x50, 0, 0, 0, 0, 0, 1, FrameType.REQUEST, 0]),
      Buffer.alloc(0x500000),
    ]);
    const got = await rawExchange([big, request(3, "Echo", enc("after"))], 2);
    expect(got.get(1)?.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(got.get(1)?.message).toContain("exceed maximum message size of 4194304");
    expect(got.get(3)).toMatchObject({ code: 0 });
    expect(dec(got.get(3)!.payload)).toBe("after");
  });

  it("refuses to send a request above 4 MiB, and fails a too-large reply without losing the connection", async () => {
    fx = await rawServer();
    const c = await fx.connect();
    await expect(c.call(SVC, "Echo", new Uint8Array(MAX_MESSAGE_SIZE + 1))).rejects.toMatchObject({
      code: Code.RESOURCE_EXHAUSTED,
    });
    await expect(c.call(SVC, "Big", enc(""))).rejects.toMatchObject({ code: Code.RESOURCE_EXHAUSTED });
    expect(dec(await c.call(SVC, "Echo", enc("ok")))).toBe("ok");
  });

  it("rejects even stream ids and reused active ids", async () => {
    fx = await rawServer();
    const got = await rawExchange(
      [request(2, "Echo", enc("")), request(5, "Sleep", enc("100")), request(5, "Echo", enc(""))],
      2,
    );
    expect(got.get(2)?.code).toBe(Code.INVALID_ARGUMENT);
    expect(got.get(5)?.code).toBe(Code.INVALID_ARGUMENT);
    expect(got.get(5)?.message).toContain("already in use");
  });

  it("fails every pending call with UNAVAILABLE when the server goes away, and later calls at once", async () => {
    fx = await rawServer();
    const c = await fx.connect();
    const pending = [c.call(SVC, "Hang", enc("")), c.call(SVC, "Hang", enc(""))];
    await sleep(20);
    await fx.server.shutdown();
    for (const p of pending) await expect(p).rejects.toMatchObject({ code: Code.UNAVAILABLE });
    await expect(c.call(SVC, "Echo", enc(""))).rejects.toMatchObject({ code: Code.UNAVAILABLE });
    expect(c.closed).toBe(true);
  });

  it("fails pending calls when the client is closed, with a message saying so", async () => {
    fx = await rawServer();
    const c = await fx.connect();
    const p = c.call(SVC, "Hang", enc(""));
    c.close();
    await expect(p).rejects.toMatchObject({
      code: Code.UNAVAILABLE,
      message: "ttrpc: connection closed: client closed",
    });
  });

  it("lets a graceful shutdown finish in-flight calls", async () => {
    fx = await rawServer();
    const c = await fx.connect();
    const p = c.call(SVC, "Sleep", enc("50"));
    await sleep(5);
    await fx.server.shutdown(2000);
    expect(dec(await p)).toBe("50");
  });
});

describe("typed service bindings", () => {
  async function healthServer() {
    const f = await startServer();
    registerService(f.server, Health, {
      check: (req) => ({
        status:
          req.service === "" ? CheckResponse_ServingStatus.SERVING : CheckResponse_ServingStatus.NOT_SERVING,
      }),
      version: async () => ({ agentVersion: "1.2.3", apiVersion: "tskata.agent.v1", uptimeSeconds: 1.5 }),
    });
    return f;
  }

  it("calls a generated service with messages, not bytes", async () => {
    fx = await healthServer();
    const health = createClient(await fx.connect(), Health);
    expect((await health.check({})).status).toBe(CheckResponse_ServingStatus.SERVING);
    expect((await health.check({ service: "other" })).status).toBe(CheckResponse_ServingStatus.NOT_SERVING);
    expect(await health.version({})).toMatchObject({ agentVersion: "1.2.3", uptimeSeconds: 1.5 });
  });

  it("registers one implementation under a second service name", async () => {
    fx = await startServer();
    const impl = { check: () => ({ status: CheckResponse_ServingStatus.SERVING }), version: () => ({}) };
    registerService(fx.server, Health, impl);
    registerService(fx.server, Health, impl, { name: "tskata.agent.v2.Health" });
    const c = await fx.connect();
    const v2 = createClient(c, Health, { name: "tskata.agent.v2.Health" });
    expect((await v2.check({})).status).toBe(CheckResponse_ServingStatus.SERVING);
  });

  it("answers INVALID_ARGUMENT naming the method and type for a payload of the wrong type or truncated", async () => {
    fx = await healthServer();
    const c = await fx.connect();
    const wrongType = toBinary(
      WaitProcessResponseSchema,
      create(WaitProcessResponseSchema, { exitStatus: 7 }),
    );
    await expect(c.call("tskata.agent.v1.Health", "Check", wrongType)).rejects.toMatchObject({
      code: Code.INVALID_ARGUMENT,
      message: expect.stringContaining(
        "tskata.agent.v1.Health/Check: payload is not a valid tskata.agent.v1.CheckRequest",
      ),
    });
    const valid = toBinary(CheckRequestSchema, create(CheckRequestSchema, { service: "abcdef" }));
    await expect(
      c.call("tskata.agent.v1.Health", "Check", valid.subarray(0, valid.length - 3)),
    ).rejects.toMatchObject({
      code: Code.INVALID_ARGUMENT,
    });
    await expect(c.call("tskata.agent.v1.Health", "Bogus", valid)).rejects.toMatchObject({
      code: Code.UNIMPLEMENTED,
    });
  });

  it("refuses an implementation that lacks a method", async () => {
    fx = await startServer();
    expect(() =>
      registerService(fx.server, Health, { check: () => ({}) } as unknown as Parameters<
        typeof registerService<typeof Health>
      >[2]),
    ).toThrow("tskata.agent.v1.Health: implementation lacks version()");
  });
});
