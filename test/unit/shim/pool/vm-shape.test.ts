import { describe, expect, it } from "vitest";
import { misfit } from "../../../../shim/pool/vm-shape.js";

describe("whether a pooled VM fits a pod", () => {
  const max = { memoryMib: 2048, vcpus: 2 };
  it("fits a pod of its size, a larger one within its hotplug ceilings, and a smaller one", () => {
    expect(misfit(max, { memoryMib: 512, vcpus: 1 })).toBeUndefined();
    expect(misfit(max, { memoryMib: 2048, vcpus: 2 })).toBeUndefined();
    expect(misfit(max, { memoryMib: 256, vcpus: 1 })).toBeUndefined();
  });
  it("does not fit a pod beyond its ceilings, and says why", () => {
    expect(misfit(max, { memoryMib: 4096, vcpus: 1 })).toBe(
      "the pod needs 4096 MiB, 1 vCPU, pool VMs grow to at most 2048 MiB, 2 vCPUs",
    );
    expect(misfit(max, { memoryMib: 512, vcpus: 3 })).toMatch(/needs 512 MiB, 3 vCPUs/);
  });
});
