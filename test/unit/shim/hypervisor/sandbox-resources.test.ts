import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { identify, isAlive } from "../../../../shim/hypervisor/process-identity.js";
import {
  cleanupSandbox,
  mountsBelow,
  SandboxResources,
  sandboxPaths,
} from "../../../../shim/hypervisor/sandbox-resources.js";

let stateDir: string;
beforeAll(() => {
  stateDir = mkdtempSync(join(tmpdir(), "tskata-res-"));
});
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

function sleeper(): number {
  // Detached: survives this "shim" like QEMU would after a crash.
  const child = spawn("sleep", ["600"], { detached: true, stdio: "ignore" });
  child.unref();
  return child.pid!;
}

describe("SandboxResources", () => {
  it("records processes to resources.json and tears everything down", async () => {
    const res = await SandboxResources.create(stateDir, "a1");
    expect(existsSync(res.paths.shared)).toBe(true);
    const pid = sleeper();
    await res.addProcess("virtiofsd", pid);
    const record = JSON.parse(readFileSync(res.paths.record, "utf8"));
    expect(record.processes).toEqual([expect.objectContaining({ role: "virtiofsd", pid })]);
    const report = await res.teardown(200);
    expect(report.processes).toEqual([{ role: "virtiofsd", pid, outcome: "terminated" }]);
    expect(report.removedDir).toBe(true);
    expect(existsSync(res.paths.dir)).toBe(false);
  });

  it("refuses a sandbox that exists and is in use; reclaims one whose owner and processes are gone", async () => {
    const res = await SandboxResources.create(stateDir, "a2");
    await expect(SandboxResources.create(stateDir, "a2")).rejects.toMatchObject({
      code: "SANDBOX_EXISTS",
      message: expect.stringContaining(`is in use (owner ${process.pid})`),
    });
    // A record left by a crashed shim: its owner and processes are gone.
    const record = JSON.parse(readFileSync(res.paths.record, "utf8"));
    record.owner.startTime = "1";
    writeFileSync(res.paths.record, JSON.stringify(record));
    writeFileSync(join(res.paths.shared, "old-file"), "x");
    const again = await SandboxResources.create(stateDir, "a2");
    expect(existsSync(join(again.paths.shared, "old-file"))).toBe(false);
    await again.teardown();
  });

  it("a later process (after a shim crash) cleans up from the record alone", async () => {
    const res = await SandboxResources.create(stateDir, "a3");
    const pid = sleeper();
    const id = (await identify(pid))!;
    await res.addProcess("qemu", pid);
    const report = await cleanupSandbox(stateDir, "a3");
    expect(report?.processes[0]?.outcome).toBe("terminated");
    expect(await isAlive(id)).toBe(false);
    expect(existsSync(join(stateDir, "sandboxes", "a3"))).toBe(false);
    expect(await cleanupSandbox(stateDir, "a3")).toBeUndefined();
  });

  it("never signals a pid whose start time changed (pid reuse)", async () => {
    const res = await SandboxResources.create(stateDir, "a4");
    const record = JSON.parse(readFileSync(res.paths.record, "utf8"));
    // Our own pid, recorded with another start time: a recycled pid must be left alone.
    record.processes.push({ ...(await identify(process.pid))!, startTime: "1", role: "qemu" });
    writeFileSync(res.paths.record, JSON.stringify(record));
    const report = await cleanupSandbox(stateDir, "a4");
    expect(report?.processes).toEqual([{ role: "qemu", pid: process.pid, outcome: "not-running" }]);
    expect(existsSync(res.paths.dir)).toBe(false);
  });

  it("does not remove a directory with a mount below it", async () => {
    const res = await SandboxResources.create(stateDir, "a5");
    const target = join(res.paths.shared, "m");
    mkdirSync(target);
    const { execFileSync } = await import("node:child_process");
    execFileSync("mount", ["-t", "tmpfs", "tmpfs", target]);
    try {
      expect(await mountsBelow(res.paths.dir)).toEqual([target]);
      await expect(res.teardown()).rejects.toMatchObject({ code: "CLEANUP_FAILED" });
      expect(existsSync(res.paths.dir)).toBe(true);
    } finally {
      execFileSync("umount", [target]);
    }
    await cleanupSandbox(stateDir, "a5");
    expect(existsSync(res.paths.dir)).toBe(false);
  });

  it("rejects ids that would escape the state dir and socket paths that are too long", () => {
    expect(() => sandboxPaths(stateDir, "../x")).toThrow(/invalid sandbox id/);
    expect(() => sandboxPaths(`/${"d".repeat(90)}`, "x")).toThrow(/longer than 107 bytes/);
  });

  it("keeps socket paths the same length whatever the id (a 128-character id fits)", () => {
    const short = sandboxPaths("/run/tskata", "x");
    const long = sandboxPaths("/run/tskata", "x".repeat(128));
    expect(long.agentSocket.length).toBe(short.agentSocket.length);
    expect(long.agentSocket).toMatch(/^\/run\/tskata\/s\/[0-9a-f]{16}\/agent\.sock$/);
    expect(long.socketDir).not.toBe(short.socketDir);
  });
});
