/**
 * The reaper stops what a dead pool left tied, with a real virtiofsd: the pool died after the
 * VM's virtiofsd started and before its QEMU did, so the tie record names no process yet. The
 * virtiofsd was recorded in the VM's resources before it ran (gated-spawn.ts), and must go.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  identify,
  type ProcessIdentity,
  terminate,
  waitGone,
} from "../../../../shim/hypervisor/process-identity.js";
import { SandboxResources } from "../../../../shim/hypervisor/sandbox-resources.js";
import { Virtiofsd } from "../../../../shim/hypervisor/virtiofsd.js";
import { reapTiedVms } from "../../../../shim/pool/reap.js";

let stateDir: string;
beforeAll(() => {
  stateDir = mkdtempSync(join(tmpdir(), "tskata-reap-"));
});
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

describe("reaping a dead pool's VMs", () => {
  it("stops a booting VM's virtiofsd that only its resources record names, and removes its directories", async () => {
    const resources = await SandboxResources.create(stateDir, "pool-0123456789");
    const { paths } = resources;
    mkdirSync(paths.shared, { recursive: true });
    mkdirSync(paths.socketDir, { recursive: true });
    let recorded: ProcessIdentity | undefined;
    const daemon = await Virtiofsd.start({
      path: "/usr/lib/qemu/virtiofsd",
      socketPath: paths.virtiofsdSocket,
      sharedDir: paths.shared,
      cache: "auto",
      log: pino({ level: "silent" }),
      record: async (pid) => {
        recorded = await resources.addProcess("virtiofsd", pid);
      },
    });
    try {
      // the very process that was recorded before it ran is the one serving
      expect(await identify(daemon.pid)).toEqual(recorded);
      const registry = join(stateDir, "pool.sock.tied.json");
      writeFileSync(
        registry,
        JSON.stringify({ poolPid: 1, vms: [{ id: "pool-0123456789", processes: [] }] }),
      );
      const report = await reapTiedVms(registry, stateDir);
      expect(report.vms[0]!.outcome).toMatch(/virtiofsd \d+ (terminated|killed)/);
      expect(await waitGone(recorded!, 5000)).toBe(true);
      expect(existsSync(paths.dir)).toBe(false);
      expect(existsSync(registry)).toBe(false);
    } finally {
      daemon.kill();
      if (recorded) await terminate(recorded, 100);
    }
  }, 20_000);
});
