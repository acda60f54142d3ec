/**
 * The root image as virtio-pmem with DAX (hypervisor.root_image_device = "pmem") on the real
 * guest image under TCG: ONE VM booted through Sandbox.start, a container run through the agent,
 * the guest seeing /dev/pmem0 (DAX-capable) and no virtio-blk disk, QEMU mapping the image file
 * itself read-only and shared (the pages every such VM shares through the host page cache), and
 * the start-up timeline holding the host's and the guest's boot phases. The virtio-blk path is
 * what every other VM test boots.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Timeline } from "../../shim/timeline/timeline.js";
import { baseSpec, makeBusyboxRootfs, runContainer } from "../fixtures/agent-vm.js";
import { bootImageSandbox, type ImageSandbox } from "../fixtures/image-sandbox.js";

const timeline = new Timeline("pmem1");
let vm: ImageSandbox;

beforeAll(async () => {
  vm = await bootImageSandbox("pmem", "pmem1", timeline);
}, 180_000);

afterAll(async () => vm?.stop(), 60_000);

describe("root image on virtio-pmem with DAX", () => {
  it("boots and runs a container whose guest has /dev/pmem0 (DAX) as root and no virtio-blk disk", async () => {
    const rootfs = makeBusyboxRootfs(vm.sandbox.sharedDir, "busybox");
    const script = [
      "echo hello from dax",
      "cat /sys/block/pmem0/queue/dax",
      "ls /sys/block | grep -c '^vd' || true",
      "cat /proc/cmdline",
    ].join("; ");
    const r = await runContainer(vm.sandbox.agent, "c1", rootfs, baseSpec(["sh", "-c", script]));
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    const [hello, dax, vdisks, cmdline] = r.stdout.split("\n");
    expect({ hello, dax, vdisks }).toEqual({ hello: "hello from dax", dax: "1", vdisks: "0" });
    expect(cmdline).toContain("tskata.root=/dev/pmem0 tskata.rootflags=dax");
  }, 120_000);

  it("QEMU maps the image file itself, read-only and shared, and the guest's reads land there", () => {
    const mapping = readFileSync(`/proc/${vm.qemuPid}/smaps`, "utf8")
      .split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)
      .find((m) => m.split("\n")[0]!.endsWith(` ${vm.image}`));
    expect(mapping, `no mapping of ${vm.image} in QEMU`).toBeDefined();
    expect(mapping!.split(/\s+/)[1]).toBe("r--s");
    expect(Number(/\nRss:\s+(\d+) kB/.exec(mapping!)?.[1])).toBeGreaterThan(1024);
  });

  it("the start-up timeline holds the host's and the guest's boot phases in order", () => {
    const phases = timeline.phases().map((p) => p.phase);
    const expected = [
      "vm-plan",
      "virtiofsd",
      "qemu-spawn",
      "qmp-ready",
      "firmware",
      "guest-initramfs",
      "guest-rootfs-init",
      "guest-agent-start",
      "guest-agent-init",
      "guest-agent-listening",
      "health",
      "create-sandbox",
    ];
    expect(phases.filter((p) => expected.includes(p))).toEqual(expected);
    expect(timeline.phases().every((p) => p.durationMs >= 0)).toBe(true);
  });
});
