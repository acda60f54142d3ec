/**
 * The whole host↔guest path on the real guest image (build/guest, `npm run build:guest`):
 * QEMU under TCG, the agent answering ttrpc over virtio-serial (Health.Check, Version), stop via
 * the agent's DestroySandbox, and nothing left behind. Fails with a clear message when the image is not built.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent } from "../../protocol/generated/tskata/agent/v1/agent_pb.js";
import { Health } from "../../protocol/generated/tskata/agent/v1/health_pb.js";
import { Client } from "../../protocol/ttrpc/client.js";
import { createClient } from "../../protocol/ttrpc/service.js";
import { parseConfig } from "../../shim/config/load.js";
import { defaultGuestArtifacts, resolveGuestDir } from "../../shim/config/paths.js";
import { VmDeadError } from "../../shim/hypervisor/errors.js";
import { QemuHypervisor } from "../../shim/hypervisor/qemu/qemu-hypervisor.js";
import { processAlive } from "../support/leftovers.js";

const guestDir = resolveGuestDir();
const built = existsSync(join(guestDir.dir, "manifest.json"));
let stateDir: string;

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "tskata-hva-"));
});
afterAll(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

describe("hypervisor + agent on the built guest image", () => {
  beforeAll(() => {
    if (!built) throw new Error(`guest image not built in ${guestDir.dir}: run npm run build:guest first`);
  });
  it("boots, answers Health.Check and Version over ttrpc, stops via DestroySandbox, leaves nothing", async () => {
    const artifacts = defaultGuestArtifacts(guestDir);
    const config = parseConfig(
      `[hypervisor]\naccel = "tcg"\nmemory_mib = 512\n[runtime]\nstate_dir = "${stateDir}"\n`,
    );
    expect(config.hypervisor.kernel).toBe(artifacts.kernel);
    const hv = new QemuHypervisor(config, pino({ level: "warn" }));

    const t0 = performance.now();
    const vm = await hv.start({ sandboxId: "agent1" });
    const record = JSON.parse(readFileSync(join(stateDir, "sandboxes", "agent1", "resources.json"), "utf8"));
    const pids: number[] = record.processes.map((p: { pid: number }) => p.pid);

    const client = new Client(await vm.agent.connect({ timeoutMs: config.agent.dialTimeoutMs }));
    const health = createClient(client, Health);
    const check = await health.check({}, { timeoutMs: 90_000 });
    const bootMs = performance.now() - t0;
    expect(check.status).toBeDefined();
    const version = await health.version({}, { timeoutMs: 10_000 });
    expect(version.agentVersion).not.toBe("");
    console.log(
      `guest image: start → Health.Check ${bootMs.toFixed(0)} ms; agent ${version.agentVersion}, api ${version.apiVersion}`,
    );

    const agent = createClient(client, Agent);
    const t1 = performance.now();
    const exit = await vm.stop({
      requestPoweroff: async () => {
        await agent.destroySandbox({ poweroff: true }, { timeoutMs: 5000 });
      },
    });
    const stopMs = performance.now() - t1;
    console.log(`guest image: stop via DestroySandbox ${stopMs.toFixed(0)} ms (${exit.reason})`);
    client.close();
    expect(exit).toMatchObject({ expected: true, reason: "stopped by guest poweroff" });
    expect(pids.some(processAlive)).toBe(false);
    expect(readdirSync(join(stateDir, "sandboxes"))).toEqual([]);
    await expect(vm.status()).rejects.toBeInstanceOf(VmDeadError);
  }, 240_000);
});
