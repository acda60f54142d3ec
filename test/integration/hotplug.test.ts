/**
 * Growing a running pod VM on the real guest image under TCG: a 256 MiB pc-dimm (shared memfd,
 * beside virtio-fs) shows up in the guest's MemTotal, a hotplugged vCPU comes online through the
 * agent's OnlineResources, a request above the VM's ceiling is refused with the typed error and
 * changes nothing, and the VM still stops cleanly leaving nothing behind.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent } from "../../protocol/generated/tskata/agent/v1/agent_pb.js";
import { Health } from "../../protocol/generated/tskata/agent/v1/health_pb.js";
import { Client } from "../../protocol/ttrpc/client.js";
import { createClient, type ServiceClient } from "../../protocol/ttrpc/service.js";
import { parseConfig } from "../../shim/config/load.js";
import { resolveGuestDir } from "../../shim/config/paths.js";
import { HypervisorError } from "../../shim/hypervisor/errors.js";
import type { VirtualMachine } from "../../shim/hypervisor/hypervisor.js";
import { QemuHypervisor } from "../../shim/hypervisor/qemu/qemu-hypervisor.js";
import { sandboxProcesses } from "../support/leftovers.js";

const SANDBOX = "hotplug1";
const guestDir = resolveGuestDir();
let stateDir: string;
let vm: VirtualMachine;
let client: Client;
let agent: ServiceClient<typeof Agent>;

beforeAll(async () => {
  if (!existsSync(join(guestDir.dir, "manifest.json")))
    throw new Error(`guest image not built in ${guestDir.dir}: run npm run build:guest first`);
  stateDir = await mkdtemp(join(tmpdir(), "tskata-hotplug-"));
  const config = parseConfig(
    `[hypervisor]\naccel = "tcg"\nmemory_mib = 512\nmax_memory_mib = 1024\nvcpus = 1\nmax_vcpus = 2\n` +
      `[runtime]\nstate_dir = "${stateDir}"\n`,
  );
  vm = await new QemuHypervisor(config, pino({ level: "warn" })).start({ sandboxId: SANDBOX });
  client = new Client(await vm.agent.connect({ timeoutMs: config.agent.dialTimeoutMs }));
  await createClient(client, Health).check({}, { timeoutMs: 90_000 });
  agent = createClient(client, Agent);
}, 120_000);

afterAll(async () => {
  if (vm && vm.state.kind === "running") await vm.stop();
  client?.close();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

async function guest(minVcpus = 0, minMemoryMib = 0) {
  return agent.onlineResources({ minVcpus, minMemoryMib: BigInt(minMemoryMib) }, { timeoutMs: 30_000 });
}

describe("growing a running VM by hotplug", () => {
  it("a 256 MiB memory grow shows up in the guest's MemTotal", async () => {
    const before = await guest();
    const t0 = performance.now();
    const grown = await vm.resize({ memoryMib: 768, vcpus: 1 });
    expect(grown).toEqual({ memoryMib: 768, vcpus: 1 });
    const after = await guest(0, 768);
    const growMs = Math.round(performance.now() - t0);
    const addedMib = Number(after.memTotalKib - before.memTotalKib) / 1024;
    console.log(`memory +256 MiB: guest MemTotal +${addedMib} MiB in ${growMs} ms`);
    expect(addedMib).toBeGreaterThan(240);
    expect(addedMib).toBeLessThanOrEqual(256);
    expect(Number(after.presentMemoryMib)).toBeGreaterThanOrEqual(768);
  });

  it("a vCPU grow 1 → 2 comes online in the guest", async () => {
    expect((await guest()).onlineVcpus).toBe(1);
    const t0 = performance.now();
    expect(await vm.resize({ memoryMib: 768, vcpus: 2 })).toEqual({ memoryMib: 768, vcpus: 2 });
    const after = await guest(2);
    console.log(`vCPU 1 → 2 online in ${Math.round(performance.now() - t0)} ms`);
    expect(after.onlineVcpus).toBe(2);
    expect(after.onlinedVcpus).toBe(1);
  });

  it("smaller targets keep the current size", async () => {
    expect(await vm.resize({ memoryMib: 256, vcpus: 1 })).toEqual({ memoryMib: 768, vcpus: 2 });
  });

  it("asking beyond the ceiling fails with HYPERVISOR_RESOURCES_EXCEEDED and changes nothing", async () => {
    const before = await guest();
    const err = await vm.resize({ memoryMib: 2048, vcpus: 3 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HypervisorError);
    expect((err as HypervisorError).code).toBe("HYPERVISOR_RESOURCES_EXCEEDED");
    expect((err as Error).message).toContain("memory 2048 MiB");
    expect((err as Error).message).toContain("limit of 1024 MiB");
    expect((err as Error).message).toContain("3 vCPUs is above this VM's limit of 2");
    const after = await guest();
    expect(after.memTotalKib).toBe(before.memTotalKib);
    expect(after.onlineVcpus).toBe(2);
    // the refused request left the growth room intact: the rest still fits
    expect(await vm.resize({ memoryMib: 1024, vcpus: 2 })).toEqual({ memoryMib: 1024, vcpus: 2 });
  });

  it("the grown VM stops cleanly and leaves nothing behind", async () => {
    const exit = await vm.stop({
      requestPoweroff: async () => {
        await agent.destroySandbox({ poweroff: true }, { timeoutMs: 30_000 });
      },
    });
    expect(exit.expected).toBe(true);
    expect(sandboxProcesses(SANDBOX)).toEqual([]);
    const mounts = readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .filter((l) => l.includes(join(stateDir, "sandboxes")));
    expect(mounts).toEqual([]);
    expect(existsSync(join(stateDir, "sandboxes", SANDBOX))).toBe(false);
  });
});
