import { describe, expect, it } from "vitest";
import { alignedImageBytes } from "../../../guest-image/disk-image.js";
import { initramfsInit, rootfsInit } from "../../../guest-image/init-scripts.js";

describe("guest init scripts", () => {
  it("the initramfs mounts the root the shim names, with its extra flags (pmem: dax)", () => {
    const script = initramfsInit("ext4");
    expect(script).toMatch(/tskata\.root=\*\) root="\$\{arg#\*=\}"/);
    expect(script).toMatch(/tskata\.rootflags=\*\) flags="ro,\$\{arg#\*=\}"/);
    expect(script).toContain('mount -t "$fstype" -o "$flags" "$root" /newroot');
  });
  it("both scripts pass their start uptime on to the agent's boot timeline", () => {
    expect(initramfsInit("ext4")).toContain('export TSKATA_UPTIME_INITRAMFS="$uptime"');
    expect(rootfsInit()).toContain('export TSKATA_UPTIME_ROOTFS_INIT="$uptime"');
  });
  it("root images are padded to whole 128 MiB steps (virtio-pmem maps them as memory)", () => {
    expect(alignedImageBytes(109813760)).toBe(134217728);
    expect(alignedImageBytes(134217728)).toBe(134217728);
  });
});
