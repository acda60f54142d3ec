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
    const extra: Record<string, string | undefined> =
      this.type === "microvm" ? { "x-option-roms": "off", rtc: "on", "isa-serial": "on" } : {};
    return ["-machine", opts(this.type, { ...extra, "memory-backend": this.memoryBackend })];
  }
}
