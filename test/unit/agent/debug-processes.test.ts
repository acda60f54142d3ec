/**
 * The agent's debug processes (DebugExec) run for real on this host: commands outside any
 * container, with pipes or a pty the agent opens itself; wait answers once the output is all
 * buffered; bad requests fail with the domain code naming the bad field.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DebugProcesses } from "../../../agent/debug/debug-processes.js";
import { parseMeminfo } from "../../../agent/debug/guest-memory.js";
import type { OutputBuffer } from "../../../agent/stdio/output-buffer.js";

const debug = new DebugProcesses();
const started: string[] = [];
afterEach(() => {
  for (const id of started.splice(0)) {
    try {
      debug.signal(id, 9);
    } catch {
      // already exited
    }
  }
});

async function readAll(buffer: OutputBuffer): Promise<string> {
  let out = "";
  for (;;) {
    const r = await buffer.read(1 << 16);
    out += Buffer.from(r.data).toString("utf8");
    if (r.eof) return out;
  }
}

const request = (
  execId: string,
  args: string[],
  extra: Partial<Parameters<DebugProcesses["start"]>[0]> = {},
) => {
  started.push(execId);
  return { execId, args, env: [], cwd: "", terminal: false, stdin: false, rows: 0, columns: 0, ...extra };
};

describe("debug processes", () => {
  it("run a command with pipes: stdout, stderr and the exit status come back", async () => {
    await debug.start(request("p1", ["sh", "-c", "echo out; echo err >&2; exit 3"]));
    const [out, err] = await Promise.all([
      readAll(debug.stdio("p1").stdout),
      readAll(debug.stdio("p1").stderr),
    ]);
    expect([out, err]).toEqual(["out\n", "err\n"]);
    expect((await debug.wait("p1")).status).toBe(3);
  });

  it("forward stdin and its EOF to the process", async () => {
    await debug.start(request("p2", ["cat"], { stdin: true }));
    await debug.stdio("p2").write(Buffer.from("hello\n"));
    debug.stdio("p2").closeStdin();
    expect(await readAll(debug.stdio("p2").stdout)).toBe("hello\n");
    expect((await debug.wait("p2")).status).toBe(0);
  });

  it("give a terminal of the asked size, as the controlling tty of a new session, when asked", async () => {
    await debug.start(
      request("t1", ["sh", "-c", "tty; stty size; : > /dev/tty && echo ctty"], {
        terminal: true,
        rows: 33,
        columns: 101,
      }),
    );
    const out = await readAll(debug.stdio("t1").stdout);
    // output and status together: a failure shows both (a cut output vs. a killed shell)
    expect({ out, status: (await debug.wait("t1")).status }).toEqual({
      out: expect.stringMatching(/^\/dev\/pts\/\d+\r\n33 101\r\nctty\r\n$/),
      status: 0,
    });
    expect(debug.stdio("t1").terminal).toBe(true);
  });

  it("hand over a terminal's whole output, up to the exit, however short the command", async () => {
    const lines = Array.from({ length: 200 }, (_, i) => `line ${i}`);
    for (let i = 0; i < 20; i++) {
      await debug.start(
        request(`short${i}`, ["sh", "-c", `printf '%s\\n' ${lines.join(" ").replace(/line /g, "line_")}`], {
          terminal: true,
        }),
      );
      const out = await readAll(debug.stdio(`short${i}`).stdout);
      expect(out.split("\r\n").filter((l) => l !== "").length).toBe(200);
      expect((await debug.wait(`short${i}`)).status).toBe(0);
    }
  });

  it("keep a terminal to its own process: another process started meanwhile does not hold it", async () => {
    await debug.start(request("held", ["sleep", "100"], { terminal: true }));
    await debug.start(request("other", ["ls", "-l", "/proc/self/fd/"]));
    const listing = await readAll(debug.stdio("other").stdout);
    expect((await debug.wait("other")).status).toBe(0);
    expect(listing).not.toMatch(/\/dev\/pts\//);
  });

  it("report a signal death as 128 + the signal", async () => {
    await debug.start(request("s1", ["sleep", "100"]));
    debug.signal("s1", 15);
    expect((await debug.wait("s1")).status).toBe(128 + 15);
  });

  it("refuse a command that cannot be spawned with ERR_EXEC_FAILED naming it", async () => {
    await expect(debug.start(request("bad1", ["/no/such/command"]))).rejects.toMatchObject({
      code: "ERR_EXEC_FAILED",
      message: expect.stringContaining("/no/such/command"),
    });
    expect(() => debug.get("bad1")).toThrow(/not found/);
  });

  it("refuse a malformed env entry, an empty command and a reused exec id", async () => {
    await expect(debug.start(request("bad2", ["true"], { env: ["NOEQUALS"] }))).rejects.toMatchObject({
      code: "ERR_SPEC_INVALID",
      message: expect.stringContaining("NOEQUALS"),
    });
    await expect(debug.start(request("bad3", []))).rejects.toMatchObject({ code: "ERR_SPEC_INVALID" });
    await debug.start(request("dup", ["sleep", "100"]));
    await expect(debug.start(request("dup", ["true"]))).rejects.toMatchObject({ code: "ERR_PROCESS_EXISTS" });
  });

  it("read the guest's memory figures from meminfo text", () => {
    expect(parseMeminfo("MemTotal:  2000 kB\nMemFree:  500 kB\nMemAvailable:  1500 kB\n")).toEqual({
      totalKib: 2000,
      freeKib: 500,
      availableKib: 1500,
    });
  });
});
