/**
 * The shim's log is the bundle's `log` FIFO, which containerd stops reading once the shim's
 * connection closes; a shim shutting down still logs its teardown. Writing on (EPIPE) must not
 * end the shim before its sandbox is torn down (issue 9: a SIGTERM'd shim left its directory).
 */
import { execFileSync } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseShimFlags } from "../../../../shim/launch/flags.js";
import { shimLogger } from "../../../../shim/launch/serve.js";

const cwd = process.cwd();
let dir: string;
afterEach(() => {
  process.chdir(cwd);
  rmSync(dir, { recursive: true, force: true });
});

describe("the shim log FIFO", () => {
  it("keeps the shim running when containerd stops reading it", async () => {
    dir = mkdtempSync(join(tmpdir(), "tskata-shimlog-"));
    execFileSync("mkfifo", [join(dir, "log")]);
    // containerd's end of the FIFO
    const reader = openSync(join(dir, "log"), constants.O_RDONLY | constants.O_NONBLOCK);
    process.chdir(dir);
    const log = shimLogger(parseShimFlags(["-namespace", "default", "-id", "t1", "-address", "/x"]), "t1");
    log.info("before containerd went away");
    await new Promise((r) => setTimeout(r, 50));
    const buf = Buffer.alloc(4096);
    expect(buf.subarray(0, readSync(reader, buf)).toString()).toMatch(/before containerd went away/);
    closeSync(reader);
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on("uncaughtException", onUncaught);
    try {
      for (let i = 0; i < 100; i++) log.info({ i }, "tearing down after containerd stopped reading");
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      process.off("uncaughtException", onUncaught);
    }
    expect(uncaught).toEqual([]);
  });
});
