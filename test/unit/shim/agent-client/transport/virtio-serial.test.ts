import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VirtioSerialTransport } from "../../../../../shim/agent-client/transport/virtio-serial.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tskata-vs-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("VirtioSerialTransport", () => {
  it("keeps dialling until the socket appears, then streams both ways", async () => {
    const path = join(dir, "agent.sock");
    const t = new VirtioSerialTransport(path);
    expect(t.address).toBe(`virtio-serial unix:${path}`);
    const server = createServer((s) => s.pipe(s));
    setTimeout(() => server.listen(path), 100);
    const duplex = await t.connect({ timeoutMs: 5000 });
    const echoed = new Promise<string>((resolve) =>
      duplex.once("data", (d: Buffer) => resolve(d.toString())),
    );
    duplex.write("ping");
    expect(await echoed).toBe("ping");
    duplex.destroy();
    server.close();
  });

  it("times out with the last error", async () => {
    const t = new VirtioSerialTransport(join(dir, "never.sock"));
    await expect(t.connect({ timeoutMs: 100 })).rejects.toMatchObject({
      code: "TRANSPORT_TIMEOUT",
      message: expect.stringMatching(/within 100 ms \(last error: .*ENOENT/),
    });
  });

  it("stops at once when aborted", async () => {
    const t = new VirtioSerialTransport(join(dir, "never.sock"));
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(new Error("VM died")), 50);
    await expect(t.connect({ timeoutMs: 10_000, signal: ac.signal })).rejects.toMatchObject({
      code: "TRANSPORT_ABORTED",
      message: expect.stringContaining("VM died"),
    });
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
