/**
 * The two ends of an OCI console socket, on the host: sendFd (tskata-runtime's end, as runc's)
 * connects and passes an fd as SCM_RIGHTS; ConsoleSocket (the agent's end, as crun's caller)
 * receives it — the same open file, readable through the new fd.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConsoleSocket } from "../../../native/console-socket.js";
import { sendFd } from "../../../native/send-fd.js";

const dir = mkdtempSync(join(tmpdir(), "tskata-fdpass-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("fd passing over a unix socket", () => {
  it("an fd sent with sendFd arrives at a ConsoleSocket as the same open file", async () => {
    const file = join(dir, "payload");
    writeFileSync(file, "passed-through-scm-rights");
    const listener = new ConsoleSocket(join(dir, "console.sock"));
    try {
      const received = listener.receiveFd();
      const fd = openSync(file, "r");
      sendFd(join(dir, "console.sock"), fd, "/dev/pts/0");
      closeSync(fd);
      const got = await received;
      const buf = Buffer.alloc(64);
      const n = readSync(got, buf, 0, 64, 0);
      closeSync(got);
      expect(buf.subarray(0, n).toString()).toBe("passed-through-scm-rights");
    } finally {
      listener.close();
    }
  });

  it("a socket path over the 107-byte sun_path is refused by name", () => {
    const long = `/${"x".repeat(120)}`;
    expect(() => sendFd(long, 0, "")).toThrow(/console socket path too long/);
    expect(() => new ConsoleSocket(long)).toThrow(/console socket path too long/);
  });
});
