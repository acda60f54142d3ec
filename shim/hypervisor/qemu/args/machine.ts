import type { MachineType } from "../../../config/types.js";
import { opts, type QemuArg, type VirtioBus } from "./qemu-arg.js";

export class MachineArg implements QemuArg {
  constructor(
    readonly type: MachineType,
    /** Id of a memory backend object to use as guest RAM (shared memfd for virtio-fs). */
    readonly memoryBackend: string | undefined,
  ) {}

  get bus(): VirtioBus {
    return this.type === "microvm" ? "mmio" : "pci";
  }

  render(): string[] {
    // microvm: the legacy PIT/PIC stay on, or a stock distro kernel cannot calibrate its TSC
    // (no HPET/PM timer on microvm) and hangs early under TCG.
    const extra: Record<string, string | undefined> =
      this.type === "microvm"
        ? { "x-option-roms": "off", rtc: "on", "isa-serial": "on", pit: "on", pic: "on" }
        : {};
    const args = ["-machine", opts(this.type, { ...extra, "memory-backend": this.memoryBackend })];
    // virtio-mmio transports default to legacy (virtio 0.9); vhost-user (virtiofsd) needs 1.0.
    if (this.type === "microvm") args.push("-global", "virtio-mmio.force-legacy=false");
    return args;
  }
}
