/**
 * A helper started through the gate runs only after release(), as the very process whose pid
 * was recorded; a caller killed with SIGKILL before release() leaves nothing running (the race a
 * pool or shim killed between spawning QEMU and recording its pid used to lose).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { spawnGated } from "../../../../shim/hypervisor/gated-spawn.js";
import { identify, isAlive, terminate, waitGone } from "../../../../shim/hypervisor/process-identity.js";

const dir = mkdtempSync(join(tmpdir(), "tskata-gate-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

describe("a gated helper", () => {
  it("does not run before release, then runs as the same process (pid and start time)", async () => {
    const marker = join(dir, "ran");
    const gated = spawnGated("/bin/sh", ["-c", `touch ${marker}; exec sleep 100`], {
      stdout: "ignore",
      stderr: "ignore",
    });
    const recorded = (await identify(gated.child.pid!))!;
    try {
      await new Promise((r) => setTimeout(r, 200));
      expect(existsSync(marker)).toBe(false);
      gated.release();
      for (let i = 0; i < 200 && !existsSync(marker); i++) await new Promise((r) => setTimeout(r, 10));
      expect(existsSync(marker)).toBe(true);
      expect(await isAlive(recorded)).toBe(true);
    } finally {
      await terminate(recorded, 100);
    }
  });

  it("never runs when the start is cancelled: the gate exits on EOF", async () => {
    const marker = join(dir, "cancelled");
    const gated = spawnGated("/bin/sh", ["-c", `touch ${marker}`], { stdout: "ignore", stderr: "ignore" });
    const code = exited(gated.child);
    gated.cancel();
    expect(await code).not.toBe(0);
    expect(existsSync(marker)).toBe(false);
  });

  it("never runs when its caller is killed with SIGKILL before release", async () => {
    const marker = join(dir, "orphan");
    const caller = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "--input-type=module",
        "-e",
        `import { spawnGated } from "./shim/hypervisor/gated-spawn.ts";
         const g = spawnGated("/bin/sh", ["-c", "touch ${marker}; exec sleep 100"], { stdout: "ignore", stderr: "ignore" });
         process.stdout.write(g.child.pid + "\\n");
         setInterval(() => {}, 1000);`,
      ],
      { cwd: join(import.meta.dirname, "../../../.."), stdio: ["ignore", "pipe", "inherit"] },
    );
    const gatePid = await new Promise<number>((resolve, reject) => {
      let out = "";
      caller.stdout?.setEncoding("utf8").on("data", (s: string) => {
        out += s;
        if (out.includes("\n")) resolve(Number(out.trim()));
      });
      caller.once("exit", (code) => reject(new Error(`caller exited with ${code}`)));
    });
    const gate = (await identify(gatePid))!;
    const callerGone = exited(caller);
    caller.kill("SIGKILL");
    await callerGone;
    try {
      expect(await waitGone(gate, 5000)).toBe(true);
      expect(existsSync(marker)).toBe(false);
    } finally {
      await terminate(gate, 100);
    }
  }, 20_000);
});
