import { describe, expect, it } from "vitest";
import { configFixture } from "../../../support/config-fixture.js";

const { parse, issuesOf } = configFixture("quiet");

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
