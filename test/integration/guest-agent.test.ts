/**
 * The guest image and the agent's boot path on a real VM under TCG: boots build/guest (built
 * here if missing or stale) with a plain QEMU command line, reaches the agent over
 * virtio-serial, and powers it off through the agent.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildGuestImage } from "../../guest-image/build.js";
import { DevVm } from "../../guest-image/tools/dev-vm.js";
import { Agent } from "../../protocol/generated/tskata/agent/v1/agent_pb.js";
import { CheckResponse_ServingStatus, Health } from "../../protocol/generated/tskata/agent/v1/health_pb.js";
import { createClient } from "../../protocol/ttrpc/service.js";

const image = join(import.meta.dirname, "../../build/guest");
let vm: DevVm | undefined;

beforeAll(async () => {
  await buildGuestImage({ format: "ext4", out: image, force: false });
}, 600_000);

afterAll(async () => {
  await vm?.stop();
});

describe("guest agent over virtio-serial", () => {
  it("boots, answers Health, takes a second connection, and powers off on DestroySandbox", async () => {
    vm = new DevVm({ image });
    const first = await vm.connect();
    const health = createClient(first.client, Health);
    const check = await health.check({}, { timeoutMs: 150_000 });
    expect(check.status).toBe(CheckResponse_ServingStatus.SERVING);

    const version = await health.version({}, { timeoutMs: 10_000 });
    expect(version.apiVersion).toBe("tskata.agent.v1");
    expect(version.kernelRelease).toMatch(/cloud-amd64$/);
    expect(version.runtimeVersion).toMatch(/^v20\./);
    expect(version.executorVersion).toMatch(/^crun version /);
    expect(version.uptimeSeconds).toBeGreaterThan(0);
    first.client.close();
    first.socket.destroy();

    // the host may connect again: the agent serves each connection in turn
    const second = await vm.connect();
    const again = await createClient(second.client, Health).check({}, { timeoutMs: 10_000 });
    expect(again.status).toBe(CheckResponse_ServingStatus.SERVING);

    await createClient(second.client, Agent).destroySandbox({ poweroff: true }, { timeoutMs: 10_000 });
    const exit = await Promise.race([vm.exited, new Promise((r) => setTimeout(() => r("timeout"), 30_000))]);
    expect(exit).toBe(0);
    second.client.close();

    const messages = vm.agentRecords().map((r) => r["msg"]);
    expect(messages).toEqual(
      expect.arrayContaining(["agent starting", "early init done", "agent listening", "agent shutting down"]),
    );
    const dir = vm.dir;
    await vm.stop();
    vm = undefined;
    expect(existsSync(dir)).toBe(false);
  }, 900_000); // includes waiting for the machine-wide VM lock
});
