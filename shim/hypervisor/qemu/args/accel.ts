import { opts, type QemuArg } from "./qemu-arg.js";

export type Accel = "kvm" | "tcg";

/** `-accel kvm`, or multi-threaded TCG (one host thread per vCPU). */
export class AccelArg implements QemuArg {
  constructor(readonly accel: Accel) {}
  render(): string[] {
    return ["-accel", this.accel === "kvm" ? "kvm" : opts("tcg", { thread: "multi" })];
  }
}
