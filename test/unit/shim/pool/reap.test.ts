/**
 * The reaper stops what a dead pool left tied, with a real virtiofsd: one started for a VM whose
 * QEMU never came (the pool died in between) is not in any record yet, and still must go.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { identify, waitGone } from "../../../../shim/hypervisor/process-identity.js";
import { sandboxPaths } from "../../../../shim/hypervisor/sandbox-resources.js";
import { isListening } from "../../../../shim/hypervisor/virtiofsd.js";
import { reapTiedVms } from "../../../../shim/pool/reap.js";

let stateDir: string;
beforeAll(() => {
  stateDir = mkdtempSync(join(tmpdir(), "tskata-reap-"));
});
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

describe("reaping a dead pool's VMs", () => {
  it("stops a virtiofsd still waiting for its QEMU and removes the VM's directories", async () => {
    const paths = sandboxPaths(stateDir, "pool-0123456789");
    mkdirSync(paths.shared, { recursive: true });
    mkdirSync(paths.socketDir, { recursive: true });
    const child = spawn(
      "/usr/lib/qemu/virtiofsd",
      [`--socket-path=${paths.virtiofsdSocket}`, "-o", `source=${paths.shared}`, "-o", "cache=auto"],
      { stdio: "ignore" },
    );
    const exited = new Promise((r) => child.once("exit", r));
    try {
      for (let i = 0; i < 200 && !(await isListening(paths.virtiofsdSocket)); i++)
        await new Promise((r) => setTimeout(r, 10));
      const id = (await identify(child.pid!))!;
      const registry = join(stateDir, "pool.sock.tied.json");
      writeFileSync(
        registry,
        JSON.stringify({ poolPid: 1, vms: [{ id: "pool-0123456789", processes: [] }] }),
      );
      const report = await reapTiedVms(registry, stateDir);
      expect(report.vms[0]!.outcome).toContain("waiting virtiofsd released");
      expect(await waitGone(id, 5000)).toBe(true);
      expect(existsSync(paths.dir)).toBe(false);
      expect(existsSync(registry)).toBe(false);
    } finally {
      child.kill("SIGKILL");
      await exited;
    }
  }, 20_000);
});
