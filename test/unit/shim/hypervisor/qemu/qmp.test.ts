import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type HypervisorError, QmpCommandError } from "../../../../../shim/hypervisor/errors.js";
import { QmpClient } from "../../../../../shim/hypervisor/qemu/qmp.js";
import { QmpDecoder } from "../../../../../shim/hypervisor/qemu/qmp-decoder.js";

const GREETING =
  '{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}\r\n';

describe("QmpDecoder", () => {
  it("splits lines across and within chunks", () => {
    const d = new QmpDecoder();
    expect(d.push(Buffer.from('{"a":1}\r\n{"b"'))).toEqual([{ ok: true, message: { a: 1 } }]);
    expect(d.buffered).toBe(4);
    expect(d.push(Buffer.from(':2}\r\n{"c":3}\r\n\r\n'))).toEqual([
      { ok: true, message: { b: 2 } },
      { ok: true, message: { c: 3 } },
    ]);
  });
  it("keeps multi-byte characters split between chunks intact", () => {
    const d = new QmpDecoder();
    const bytes = Buffer.from('{"desc":"é→"}\n');
    const out = [...d.push(bytes.subarray(0, 10)), ...d.push(bytes.subarray(10))];
    expect(out).toEqual([{ ok: true, message: { desc: "é→" } }]);
  });
  it("reports non-object lines", () => {
    const d = new QmpDecoder();
    const [a, b] = d.push(Buffer.from("[1]\nnot json\n"));
    expect(a).toMatchObject({ ok: false, error: "not a JSON object" });
    expect(b).toMatchObject({ ok: false, line: "not json" });
  });
});

/** A scripted QMP peer on a unix socket. */
class FakeQmp {
  readonly server: Server;
  socket: Socket | undefined;
  received: Record<string, unknown>[] = [];
  onCommand: (cmd: Record<string, unknown>, s: Socket) => void = (cmd, s) => {
    s.write(`${JSON.stringify({ return: {}, id: cmd["id"] })}\r\n`);
  };
  constructor(
    readonly path: string,
    greeting = GREETING,
  ) {
    this.server = createServer((s) => {
      this.socket = s;
      s.write(greeting);
      const d = new QmpDecoder();
      s.on("data", (chunk: Buffer) => {
        for (const r of d.push(chunk)) {
          if (!r.ok) continue;
          this.received.push(r.message);
          this.onCommand(r.message, s);
        }
      });
    });
  }
  listen(): Promise<void> {
    return new Promise((resolve) => this.server.listen(this.path, resolve));
  }
}

let dir: string;
let fake: FakeQmp;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "tskata-qmp-"));
  fake = new FakeQmp(join(dir, "qmp.sock"));
  await fake.listen();
});
afterEach(() => {
  fake.socket?.destroy();
  fake.server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("QmpClient", () => {
  it("negotiates capabilities and reads the version", async () => {
    const qmp = await QmpClient.connect(fake.path);
    expect(qmp.version).toEqual({ micro: 22, minor: 2, major: 7 });
    expect(fake.received[0]).toMatchObject({ execute: "qmp_capabilities" });
    qmp.destroy();
  });

  it("matches replies by id even out of order, with events interleaved", async () => {
    const events: string[] = [];
    const held: Record<string, unknown>[] = [];
    fake.onCommand = (cmd, s) => {
      if (cmd["execute"] === "qmp_capabilities")
        return void s.write(`{"return": {}, "id": ${cmd["id"]}}\r\n`);
      held.push(cmd);
      if (held.length === 2) {
        s.write(`{"event": "POWERDOWN", "data": {}, "timestamp": {"seconds": 1, "microseconds": 2}}\r\n`);
        s.write(`{"return": {"status": "running", "running": true}, "id": ${held[1]!["id"]}}\r\n`);
        s.write(`{"return": {"status": "paused", "running": false}, "id": ${held[0]!["id"]}}\r\n`);
      }
    };
    const qmp = await QmpClient.connect(fake.path);
    qmp.onEvent((e) => events.push(e.event));
    const [a, b] = await Promise.all([qmp.queryStatus(), qmp.queryStatus()]);
    expect(a).toEqual({ status: "paused", running: false });
    expect(b).toEqual({ status: "running", running: true });
    expect(events).toEqual(["POWERDOWN"]);
    qmp.destroy();
  });

  it("turns error replies into QmpCommandError", async () => {
    fake.onCommand = (cmd, s) => {
      const reply =
        cmd["execute"] === "qmp_capabilities"
          ? { return: {}, id: cmd["id"] }
          : {
              error: { class: "CommandNotFound", desc: "The command nope has not been found" },
              id: cmd["id"],
            };
      s.write(`${JSON.stringify(reply)}\r\n`);
    };
    const qmp = await QmpClient.connect(fake.path);
    const err = await qmp.execute("nope").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpCommandError);
    expect((err as QmpCommandError).errorClass).toBe("CommandNotFound");
    expect((err as Error).message).toBe(
      "QMP nope failed: CommandNotFound: The command nope has not been found",
    );
    qmp.destroy();
  });

  it("fails pending and future commands with QMP_CLOSED when the peer goes away", async () => {
    fake.onCommand = (cmd, s) => {
      if (cmd["execute"] === "qmp_capabilities") s.write(`{"return": {}, "id": ${cmd["id"]}}\r\n`);
      else s.destroy();
    };
    const qmp = await QmpClient.connect(fake.path);
    const closed = new Promise<string>((resolve) => qmp.onClose(resolve));
    const err = await qmp.queryStatus().catch((e: unknown) => e);
    expect((err as HypervisorError).code).toBe("QMP_CLOSED");
    expect(await closed).toBe("QMP socket closed");
    await expect(qmp.queryStatus()).rejects.toMatchObject({ code: "QMP_CLOSED" });
  });

  it("quit counts a close before the reply as success", async () => {
    fake.onCommand = (cmd, s) => {
      if (cmd["execute"] === "qmp_capabilities") s.write(`{"return": {}, "id": ${cmd["id"]}}\r\n`);
      else s.destroy();
    };
    const qmp = await QmpClient.connect(fake.path);
    await expect(qmp.quit()).resolves.toBeUndefined();
  });

  it("a garbage line closes the connection with a protocol error", async () => {
    fake.onCommand = (cmd, s) => {
      if (cmd["execute"] === "qmp_capabilities") s.write(`{"return": {}, "id": ${cmd["id"]}}\r\n`);
      else s.write("}{ garbage\r\n");
    };
    const qmp = await QmpClient.connect(fake.path);
    const err = await qmp.queryStatus().catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/QMP protocol error/);
  });

  it("waitForEvent resolves on the named event and times out otherwise", async () => {
    const qmp = await QmpClient.connect(fake.path);
    const shutdown = qmp.waitForEvent("SHUTDOWN", 2000);
    fake.socket!.write(
      '{"event": "STOP", "data": {}}\r\n{"event": "SHUTDOWN", "data": {"guest": true, "reason": "guest-shutdown"}}\r\n',
    );
    expect((await shutdown).data).toEqual({ guest: true, reason: "guest-shutdown" });
    await expect(qmp.waitForEvent("RESET", 20)).rejects.toMatchObject({ code: "QMP_TIMEOUT" });
    qmp.destroy();
  });

  it("keeps dialling until QEMU listens (the socket file can precede listen), within the bound", async () => {
    const late = new FakeQmp(join(dir, "late.sock"));
    setTimeout(() => void late.listen(), 100);
    const qmp = await QmpClient.connect(late.path, { timeoutMs: 3000 });
    expect(qmp.version?.["major"]).toBe(7);
    qmp.destroy();
    late.socket?.destroy();
    late.server.close();
    await expect(QmpClient.connect(join(dir, "never.sock"), { timeoutMs: 100 })).rejects.toMatchObject({
      code: "QMP_CLOSED",
      message: expect.stringContaining("ENOENT"),
    });
  });

  it("handshake times out on a silent peer and rejects a non-QMP greeting", async () => {
    const silent = new FakeQmp(join(dir, "silent.sock"), "");
    await silent.listen();
    await expect(QmpClient.connect(silent.path, { timeoutMs: 50 })).rejects.toMatchObject({
      code: "QMP_TIMEOUT",
    });
    silent.server.close();
    const wrong = new FakeQmp(join(dir, "wrong.sock"), '{"hello": 1}\r\n');
    await wrong.listen();
    await expect(QmpClient.connect(wrong.path)).rejects.toMatchObject({ code: "QMP_PROTOCOL" });
    wrong.socket?.destroy();
    wrong.server.close();
  });

  it("a command with no reply times out", async () => {
    fake.onCommand = (cmd, s) => {
      if (cmd["execute"] === "qmp_capabilities") s.write(`{"return": {}, "id": ${cmd["id"]}}\r\n`);
    };
    const qmp = await QmpClient.connect(fake.path, { commandTimeoutMs: 30 });
    await expect(qmp.queryStatus()).rejects.toMatchObject({ code: "QMP_TIMEOUT" });
    qmp.destroy();
  });
});
