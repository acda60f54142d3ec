import { describe, expect, it } from "vitest";
import { BootPhases } from "../../../agent/init/boot-phases.js";

describe("the guest's boot phases", () => {
  it("takes the init scripts' uptimes from the environment and the agent's own marks, in uptime order", () => {
    const phases = new BootPhases({ TSKATA_UPTIME_ROOTFS_INIT: "2.53", TSKATA_UPTIME_INITRAMFS: "1.86" });
    phases.mark("agent-listening", 5.2);
    phases.mark("agent-start", 4.09);
    expect(phases.list()).toEqual([
      { name: "initramfs", uptimeSeconds: 1.86 },
      { name: "rootfs-init", uptimeSeconds: 2.53 },
      { name: "agent-start", uptimeSeconds: 4.09 },
      { name: "agent-listening", uptimeSeconds: 5.2 },
    ]);
  });
  it("skips what is missing or not a number (run outside a VM)", () => {
    const phases = new BootPhases({ TSKATA_UPTIME_INITRAMFS: "", TSKATA_UPTIME_ROOTFS_INIT: "x" });
    phases.mark("agent-start", Number.NaN);
    expect(phases.list()).toEqual([]);
  });
});
