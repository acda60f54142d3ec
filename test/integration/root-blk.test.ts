/**
 * The virtio-blk fallback for the root image (hypervisor.root_image_device = "blk"; the default
 * is pmem): ONE VM booted through Sandbox.start on the real guest image under TCG, a container
 * run through the agent, the guest rooted on /dev/vda with no pmem device, and QEMU not mapping
 * the image file as memory.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseSpec, makeBusyboxRootfs, runContainer } from "../fixtures/agent-vm.js";
import { bootImageSandbox, type ImageSandbox } from "../fixtures/image-sandbox.js";

let vm: ImageSandbox;

beforeAll(async () => {
  vm = await bootImageSandbox("blk", "blk1");
}, 180_000);

afterAll(async () => vm?.stop(), 60_000);

describe("root image on virtio-blk (the fallback)", () => {
  it("boots and runs a container whose guest is rooted on /dev/vda, with no pmem device", async () => {
    const rootfs = makeBusyboxRootfs(vm.sandbox.sharedDir, "busybox");
    const script = "echo hello from blk; ls /sys/block | grep -c '^pmem' || true; cat /proc/cmdline";
    const r = await runContainer(vm.sandbox.agent, "c1", rootfs, baseSpec(["sh", "-c", script]));
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    const [hello, pmems, cmdline] = r.stdout.split("\n");
    expect({ hello, pmems }).toEqual({ hello: "hello from blk", pmems: "0" });
    expect(cmdline).toContain("tskata.root=/dev/vda");
    expect(cmdline).not.toContain("tskata.rootflags=dax");
  }, 120_000);

  it("QEMU reads the image as a disk: no mapping of the image file", () => {
    expect(readFileSync(`/proc/${vm.qemuPid}/maps`, "utf8")).not.toContain(vm.image);
  });
});
