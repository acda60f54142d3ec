import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConsoleFollower } from "../../../../shim/hypervisor/console-follower.js";

const dir = mkdtempSync(join(tmpdir(), "tskata-console-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("ConsoleFollower", () => {
  it("emits complete lines as they are appended, without terminal noise, and drains on stop", async () => {
    const path = join(dir, "console.log");
    writeFileSync(path, "\x1bc\x1b[2JSeaBIOS\r\nearly line\n");
    const lines: string[] = [];
    const f = new ConsoleFollower(path, (l) => lines.push(l));
    await f.start();
    appendFileSync(path, "[    0.1] Linux version\n[    0.2] par");
    await new Promise((r) => setTimeout(r, 100));
    expect(lines).toEqual(["SeaBIOS", "early line", "[    0.1] Linux version"]);
    appendFileSync(path, "tial\nlast words");
    await f.stop();
    expect(lines.slice(3)).toEqual(["[    0.2] partial", "last words"]);
    await f.stop();
  });

  it("stop right after start does not leak a watcher", async () => {
    const path = join(dir, "c2.log");
    writeFileSync(path, "one\n");
    const lines: string[] = [];
    const f = new ConsoleFollower(path, (l) => lines.push(l));
    void f.start();
    await f.stop();
    expect(lines).toEqual(["one"]);
  });
});
