import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../../../shim/config/errors.js";
import { parseConfig } from "../../../../shim/config/load.js";
import type { GuestArtifacts } from "../../../../shim/config/paths.js";

let dir: string;
let guest: () => GuestArtifacts;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tskata-config-rid-"));
  for (const f of ["vmlinuz", "rootfs.img"]) writeFileSync(join(dir, f), "x");
  guest = () => ({
    kernel: join(dir, "vmlinuz"),
    image: join(dir, "rootfs.img"),
    initrd: undefined,
    kernelCmdline: "quiet",
    guestDir: { dir, reason: "env TSKATA_GUEST_DIR" },
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const parse = (text: string) => parseConfig(text, { baseDir: dir, guestArtifacts: guest, source: "t.toml" });

function issuesOf(text: string): { key: string; message: string }[] {
  try {
    parse(text);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("hypervisor.root_image_device", () => {
  it("defaults to auto (pmem where it can be mapped) and accepts pmem and blk", () => {
    expect(parse("").hypervisor.rootImageDevice).toBe("auto");
    expect(parse('[hypervisor]\nroot_image_device = "blk"').hypervisor.rootImageDevice).toBe("blk");
    expect(parse('[hypervisor]\nroot_image_device = "pmem"').hypervisor.rootImageDevice).toBe("pmem");
  });
  it("refuses an unknown device, naming the key and the choices", () => {
    expect(issuesOf('[hypervisor]\nroot_image_device = "nvdimm"')).toEqual([
      { key: "hypervisor.root_image_device", message: 'must be one of "pmem", "blk", "auto", got "nvdimm"' },
    ]);
  });
  it("microvm is valid with the default (auto)", () => {
    expect(parse('[hypervisor]\nmachine_type = "microvm"').hypervisor.machineType).toBe("microvm");
  });
  it("refuses pmem asked for on microvm (virtio-pmem needs PCI)", () => {
    const issues = issuesOf('[hypervisor]\nroot_image_device = "pmem"\nmachine_type = "microvm"');
    expect(issues.map((i) => i.key)).toEqual(["hypervisor.root_image_device"]);
    expect(issues[0]!.message).toMatch(/PCI machine/);
  });
});
