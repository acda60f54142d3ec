import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isListening } from "../../../../shim/hypervisor/virtiofsd.js";

const dir = mkdtempSync(join(tmpdir(), "tskata-vfsd-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("isListening", () => {
  it("sees a listening unix socket by path, and nothing else", async () => {
    const path = join(dir, "v.sock");
    expect(await isListening(path)).toBe(false);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(path, resolve));
    expect(await isListening(path)).toBe(true);
    await new Promise((resolve) => server.close(resolve));
    expect(await isListening(path)).toBe(false);
  });
});
