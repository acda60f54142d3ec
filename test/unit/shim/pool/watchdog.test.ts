/**
 * The tie between the pool and its idle VMs, with real processes standing in for VMs: a "pool"
 * process starts the watchdog and ties two `sleep` processes, cuts the tie of one (adopted), and
 * is killed with SIGKILL: the tied one is stopped, the adopted one keeps running.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  isAlive,
  type ProcessIdentity,
  terminate,
  waitGone,
} from "../../../../shim/hypervisor/process-identity.js";
import { loaderArgs } from "../../../../shim/pool/watchdog.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tskata-pool-tie-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const POOL_SCRIPT = `
import { spawn } from "node:child_process";
import pino from "pino";
import { identify } from "./shim/hypervisor/process-identity.ts";
import { TieRegistry } from "./shim/pool/tie-registry.ts";
import { PoolWatchdog } from "./shim/pool/watchdog.ts";
const [registryPath, stateDir] = process.argv.slice(-2);
const registry = new TieRegistry(registryPath);
const watchdog = new PoolWatchdog(registryPath, stateDir, pino({ level: "silent" }));
watchdog.start();
const vms = [];
for (const id of ["idle1", "adopted1"]) {
  const child = spawn("sleep", ["1000"], { detached: true, stdio: "ignore" });
  child.unref();
  const identity = await identify(child.pid);
  registry.tie(id, [identity]);
  vms.push(identity);
}
registry.untie("adopted1");
process.stdout.write(JSON.stringify(vms) + "\\n");
setInterval(() => {}, 1000);
`;

function startFakePool(registryPath: string): Promise<{ child: ChildProcess; vms: ProcessIdentity[] }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", POOL_SCRIPT, registryPath, dir],
    { cwd: join(import.meta.dirname, "../../../.."), stdio: ["ignore", "pipe", "inherit"] },
  );
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.setEncoding("utf8").on("data", (s: string) => {
      out += s;
      if (out.includes("\n")) resolve({ child, vms: JSON.parse(out) as ProcessIdentity[] });
    });
    child.once("exit", (code) => reject(new Error(`fake pool exited with ${code}`)));
  });
}

describe("the pool watchdog", () => {
  it("stops the VMs still tied to a pool killed with SIGKILL, never an adopted one", async () => {
    const registryPath = join(dir, "pool.sock.tied.json");
    const { child, vms } = await startFakePool(registryPath);
    const [tied, adopted] = vms as [ProcessIdentity, ProcessIdentity];
    try {
      expect(await isAlive(tied)).toBe(true);
      child.kill("SIGKILL");
      expect(await waitGone(tied, 10_000)).toBe(true);
      expect(await isAlive(adopted)).toBe(true);
      // the reaper removes the registry once done
      for (let i = 0; i < 100 && existsSync(registryPath); i++) await new Promise((r) => setTimeout(r, 50));
      expect(existsSync(registryPath)).toBe(false);
    } finally {
      child.kill("SIGKILL");
      await terminate(tied, 100);
      await terminate(adopted, 100);
    }
  }, 30_000);
});

describe("the reaper's node flags", () => {
  it("keeps loader flags and drops the rest (an -e script, inspector flags)", () => {
    expect(
      loaderArgs(["--import", "tsx", "--input-type=module", "-e", "code()", "--inspect", "--require=x.cjs"]),
    ).toEqual(["--import", "tsx", "--require=x.cjs"]);
  });
});
