import type { Accel } from "./accel.js";
import type { QemuArg } from "./qemu-arg.js";

/** `-cpu` model and `-smp`. An empty model means `host` under KVM and `max` under TCG. */
export class CpuArg implements QemuArg {
  constructor(
    readonly model: string,
    readonly accel: Accel,
    readonly vcpus: number,
  ) {}
  render(): string[] {
    const model = this.model || (this.accel === "kvm" ? "host" : "max");
    return ["-cpu", model, "-smp", String(this.vcpus)];
  }
}
