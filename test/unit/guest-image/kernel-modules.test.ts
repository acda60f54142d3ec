import { describe, expect, it } from "vitest";
import { parseAptPolicy } from "../../../guest-image/apt.js";
import { libraryClosure, parseNeeded } from "../../../guest-image/elf-deps.js";
import {
  moduleLoadOrder,
  moduleName,
  parseBuiltin,
  parseModulesDep,
} from "../../../guest-image/kernel-modules.js";

const modulesDep = `kernel/drivers/virtio/virtio.ko:
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio_pci_modern_dev.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/fs/fuse/fuse.ko:
kernel/fs/fuse/virtiofs.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko kernel/fs/fuse/fuse.ko
kernel/net/9p/9pnet-virtio.ko:
`;

describe("kernel modules", () => {
  it("names modules like modprobe does", () => {
    expect(moduleName("kernel/net/9p/9pnet-virtio.ko")).toBe("9pnet_virtio");
    expect(moduleName("kernel/fs/erofs/erofs.ko.xz")).toBe("erofs");
  });

  it("orders dependencies before the modules that need them, each once", () => {
    const index = parseModulesDep(modulesDep);
    const order = moduleLoadOrder(index, ["virtio_blk", "virtiofs", "virtio_pci"], new Set());
    expect(new Set(order).size).toBe(order.length);
    const pos = (m: string) => order.findIndex((p) => p.endsWith(`/${m}.ko`));
    expect(pos("virtio")).toBeLessThan(pos("virtio_blk"));
    expect(pos("virtio_ring")).toBeLessThan(pos("virtio_blk"));
    expect(pos("fuse")).toBeLessThan(pos("virtiofs"));
    expect(pos("virtio_pci_modern_dev")).toBeLessThan(pos("virtio_pci"));
    expect(order).toHaveLength(7);
  });

  it("skips built-in modules and rejects unknown ones", () => {
    const index = parseModulesDep(modulesDep);
    const builtin = parseBuiltin("kernel/fs/ext4/ext4.ko\nkernel/fs/jbd2/jbd2.ko\n");
    expect(moduleLoadOrder(index, ["ext4"], builtin)).toEqual([]);
    expect(() => moduleLoadOrder(index, ["9p"], builtin)).toThrow(
      expect.objectContaining({ code: "ERR_GUEST_MODULE_UNKNOWN" }),
    );
    expect(moduleLoadOrder(index, ["9pnet-virtio"], builtin)).toEqual(["kernel/net/9p/9pnet-virtio.ko"]);
  });
});

describe("apt-cache policy", () => {
  it("reads candidate versions and skips packages without one", () => {
    const out = `crun:
  Installed: 1.8.1-1+deb12u1
  Candidate: 1.8.1-1+deb12u1
  Version table:
busybox-static:
  Installed: (none)
  Candidate: 1:1.35.0-4+deb12u1+b1
ghost:
  Installed: (none)
  Candidate: (none)
`;
    const v = parseAptPolicy(out);
    expect(v.get("crun")).toBe("1.8.1-1+deb12u1");
    expect(v.get("busybox-static")).toBe("1:1.35.0-4+deb12u1+b1");
    expect(v.has("ghost")).toBe(false);
  });
});

describe("shared library closure", () => {
  it("parses readelf NEEDED entries", () => {
    const out = ` 0x0000000000000001 (NEEDED)             Shared library: [libseccomp.so.2]
 0x0000000000000001 (NEEDED)             Shared library: [libc.so.6]
 0x000000000000000e (SONAME)             Library soname: [libfoo.so.1]`;
    expect(parseNeeded(out)).toEqual(["libseccomp.so.2", "libc.so.6"]);
  });

  it("follows libraries transitively and names the missing ones", async () => {
    const graph: Record<string, string[]> = {
      "/bin/crun": ["libsystemd.so.0", "libc.so.6"],
      "/lib/libsystemd.so.0": ["libzstd.so.1", "libc.so.6"],
      "/lib/libzstd.so.1": ["libc.so.6"],
      "/lib/libc.so.6": ["ld-linux-x86-64.so.2"],
      "/lib/ld-linux-x86-64.so.2": [],
    };
    const needed = async (f: string) => graph[f] ?? [];
    const locate = (s: string) => (graph[`/lib/${s}`] ? `/lib/${s}` : undefined);
    const libs = await libraryClosure(["/bin/crun"], needed, locate);
    expect([...libs.keys()].sort()).toEqual([
      "ld-linux-x86-64.so.2",
      "libc.so.6",
      "libsystemd.so.0",
      "libzstd.so.1",
    ]);
    graph["/lib/libzstd.so.1"] = ["libmissing.so.9"];
    await expect(libraryClosure(["/bin/crun"], needed, locate)).rejects.toMatchObject({
      code: "ERR_GUEST_LIBRARY_UNRESOLVED",
      message: expect.stringContaining("libmissing.so.9"),
    });
  });
});
