/** A complete VmPlan for command-line tests (q35, TCG, virtio-blk root, virtio-fs share); override what a test is about. */
import type { VmPlan } from "../../shim/hypervisor/qemu/vm-plan.js";

export const PLAN_DIR = "/run/tskata/sandboxes/s1";

export function testVmPlan(overrides: Partial<VmPlan> = {}): VmPlan {
  const D = PLAN_DIR;
  return {
    sandboxId: "s1",
    machineType: "q35",
    accel: "tcg",
    cpuModel: "",
    vcpus: 2,
    memoryMib: 512,
    maxVcpus: 2,
    maxMemoryMib: 512,
    kernel: "/g/vmlinuz",
    initrd: undefined,
    image: { device: "blk", path: "/g/rootfs.img", format: "raw" },
    kernelParams: "quiet tskata.rootfstype=ext4",
    hostTimeMs: 1795306957762,
    tscKhz: undefined,
    freePageReporting: false,
    tcgTbSizeMib: 0,
    consoleLog: `${D}/console.log`,
    qmpSocket: `${D}/qmp.sock`,
    channel: { kind: "virtio-serial", socketPath: `${D}/agent.sock`, portName: "agent.0" },
    sharedFs: {
      kind: "virtio-fs",
      socketPath: `${D}/virtiofsd.sock`,
      directory: `${D}/shared`,
      tag: "tskata",
    },
    ...overrides,
  };
}
