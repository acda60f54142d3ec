import { opts, type QemuArg } from "./qemu-arg.js";

export type Accel = "kvm" | "tcg";

/**
 * `-accel kvm`, or multi-threaded TCG (one host thread per vCPU) with an optional translation
 * cache size in MiB (QEMU's default cache grows to 1 GiB and dominates QEMU's memory under TCG).
 */
export class AccelArg implements QemuArg {
  constructor(
    readonly accel: Accel,
    readonly tbSizeMib = 0,
  ) {}
  render(): string[] {
    if (this.accel === "kvm") return ["-accel", "kvm"];
    return ["-accel", opts("tcg", { thread: "multi", "tb-size": this.tbSizeMib || undefined })];
  }
}
