import { describe, expect, it } from "vitest";
import { HypervisorError, ResourcesExceededError } from "../../../../../shim/hypervisor/errors.js";
import { planGrowth, type VmSizing } from "../../../../../shim/hypervisor/qemu/hotplug.js";

const sizing: VmSizing = {
  memoryMib: 512,
  vcpus: 1,
  maxMemoryMib: 1024,
  maxVcpus: 2,
  sharedMemory: true,
  dimms: 0,
};
const HOST = 20_000;

function refusal(fn: () => unknown): HypervisorError {
  try {
    fn();
  } catch (err) {
    if (err instanceof HypervisorError) return err;
    throw err;
  }
  throw new Error("expected a HypervisorError");
}

describe("planning a VM's growth", () => {
  it("rounds the memory added up to whole 128 MiB DIMMs", () => {
    expect(planGrowth("s", sizing, { memoryMib: 600, vcpus: 1 }, HOST)).toEqual({
      addMemoryMib: 128,
      addVcpus: 0,
    });
    expect(planGrowth("s", sizing, { memoryMib: 768, vcpus: 2 }, HOST)).toEqual({
      addMemoryMib: 256,
      addVcpus: 1,
    });
  });
  it("never shrinks: smaller targets add nothing", () => {
    expect(planGrowth("s", sizing, { memoryMib: 128, vcpus: 1 }, HOST)).toEqual({
      addMemoryMib: 0,
      addVcpus: 0,
    });
  });
  it("above the memory ceiling: a typed error naming the ask and the limit", () => {
    const err = refusal(() => planGrowth("s", sizing, { memoryMib: 1100, vcpus: 1 }, HOST));
    expect(err).toBeInstanceOf(ResourcesExceededError);
    expect(err.code).toBe("HYPERVISOR_RESOURCES_EXCEEDED");
    expect(err.message).toContain("memory 1100 MiB (1152 MiB in 128 MiB steps)");
    expect(err.message).toContain("limit of 1024 MiB (hypervisor.max_memory_mib)");
  });
  it("above the vCPU ceiling: names the vCPUs asked and the limit", () => {
    const err = refusal(() => planGrowth("s", sizing, { memoryMib: 512, vcpus: 3 }, HOST));
    expect(err.code).toBe("HYPERVISOR_RESOURCES_EXCEEDED");
    expect(err.message).toContain("3 vCPUs is above this VM's limit of 2 (hypervisor.max_vcpus)");
  });
  it("more than the host has available is refused", () => {
    const err = refusal(() => planGrowth("s", sizing, { memoryMib: 1024, vcpus: 1 }, 300));
    expect(err.message).toContain("adds 512 MiB but the host has 300 MiB available");
  });
  it("no free DIMM slot is refused", () => {
    const err = refusal(() => planGrowth("s", { ...sizing, dimms: 8 }, { memoryMib: 640, vcpus: 1 }, HOST));
    expect(err.message).toContain("all 8 are used");
  });
  it("non-positive or fractional targets are invalid", () => {
    expect(refusal(() => planGrowth("s", sizing, { memoryMib: 0, vcpus: 1 }, HOST)).code).toBe(
      "HYPERVISOR_RESIZE_INVALID",
    );
    expect(refusal(() => planGrowth("s", sizing, { memoryMib: 512, vcpus: 1.5 }, HOST)).message).toContain(
      "vcpus must be a positive integer, got 1.5",
    );
  });
});
