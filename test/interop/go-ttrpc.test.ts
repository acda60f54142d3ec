/**
 * Interop with a peer we did not write (b): a Go program built in the test from containerd's Go
 * ttrpc library (Debian's golang-github-containerd-ttrpc-dev, offline) calls our server, and our
 * client calls its server: payloads, error statuses, metadata and unknown methods both ways.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BytesValueSchema, StringValueSchema } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildGoTtrpcPeer } from "../../bench/peers/go-ttrpc.js";
import { Client } from "../../protocol/ttrpc/client.js";
import { Code } from "../../protocol/ttrpc/codes.js";
import { TtrpcError } from "../../protocol/ttrpc/errors.js";
import { type CallContext, type Handler, Server } from "../../protocol/ttrpc/server.js";

const run = promisify(execFile);
const SVC = "tskata.interop.v1.Echo";

describe("ttrpc interop with containerd's Go ttrpc 1.1", () => {
  let peer: string;
  let dir: string;
  beforeAll(async () => {
    peer = await buildGoTtrpcPeer();
    dir = mkdtempSync(join(tmpdir(), "tskata-go-ttrpc-"));
  }, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("Go client → our server: echo, error status, metadata, unknown method", async () => {
    const server = new Server();
    server.register(
      SVC,
      new Map<string, Handler>([
        ["Echo", (p: Uint8Array) => p],
        [
          "Fail",
          (p: Uint8Array) => {
            const { value } = fromBinary(StringValueSchema, p);
            throw new TtrpcError(Code.NOT_FOUND, `ts says: ${value} not found`);
          },
        ],
        [
          "Metadata",
          (p: Uint8Array, ctx: CallContext) => {
            const key = fromBinary(StringValueSchema, p).value;
            return toBinary(
              StringValueSchema,
              create(StringValueSchema, { value: ctx.metadata.get(key)?.[0] ?? "" }),
            );
          },
        ],
      ]),
    );
    const sock = join(dir, "ts-server.sock");
    await server.listen(sock);
    try {
      const { stdout } = await run(peer, ["call", sock], { timeout: 20_000 });
      expect(JSON.parse(stdout)).toEqual({
        echo: "hello from go",
        failCode: Code.NOT_FOUND,
        failMessage: "ts says: c1 not found",
        metadata: "interop",
        unknownCode: Code.UNIMPLEMENTED,
      });
    } finally {
      await server.shutdown();
    }
  });

  it("our client → Go server: echo, error status, metadata, unknown method, concurrency", async () => {
    const sock = join(dir, "go-server.sock");
    const go: ChildProcess = spawn(peer, ["serve", sock], { stdio: ["pipe", "pipe", "inherit"] });
    try {
      await new Promise<void>((resolve, reject) => {
        go.stdout!.once("data", () => resolve());
        go.once("exit", (code) => reject(new Error(`go server exited ${code}`)));
      });
      const s = connect(sock);
      await new Promise((r) => s.once("connect", r));
      const client = new Client(s);
      const bytes = (v: Uint8Array) => toBinary(BytesValueSchema, create(BytesValueSchema, { value: v }));
      const str = (v: string) => toBinary(StringValueSchema, create(StringValueSchema, { value: v }));

      const echoed = fromBinary(
        BytesValueSchema,
        await client.call(SVC, "Echo", bytes(new TextEncoder().encode("hi go"))),
      );
      expect(new TextDecoder().decode(echoed.value)).toBe("hi go");

      await expect(client.call(SVC, "Fail", str("c9"))).rejects.toMatchObject({
        code: Code.NOT_FOUND,
        message: "go says: c9 not found",
      });

      const md = await client.call(SVC, "Metadata", str("containerd-namespace-ttrpc"), {
        metadata: new Map([["containerd-namespace-ttrpc", ["from-ts"]]]),
      });
      expect(fromBinary(StringValueSchema, md).value).toBe("from-ts");

      await expect(client.call(SVC, "Nope", str(""))).rejects.toMatchObject({ code: Code.UNIMPLEMENTED });

      const many = await Promise.all(
        Array.from({ length: 500 }, (_, i) =>
          client.call(SVC, "Echo", bytes(new Uint8Array([i & 0xff, i >> 8]))),
        ),
      );
      many.forEach((r, i) => {
        expect([...fromBinary(BytesValueSchema, r).value]).toEqual([i & 0xff, i >> 8]);
      });

      // A payload near the 4 MiB limit crosses intact.
      const large = new Uint8Array(3 << 20).map((_, i) => i % 251);
      const back = fromBinary(BytesValueSchema, await client.call(SVC, "Echo", bytes(large)));
      expect(Buffer.from(back.value).equals(Buffer.from(large))).toBe(true);
      client.close();
    } finally {
      go.stdin!.on("error", () => {});
      go.stdin!.end();
      await new Promise((r) => (go.exitCode !== null ? r(null) : go.once("exit", r)));
    }
  });
});
