import type { Accel } from "./accel.js";
import type { QemuArg } from "./qemu-arg.js";

/**
 * `-cpu` model and `-smp`. An empty model means `host` under KVM and `max` under TCG. With
 * `maxVcpus` above `vcpus`, `maxcpus` leaves room for vCPU hotplug.
 */
export class CpuArg implements QemuArg {
  constructor(
    readonly model: string,
    readonly accel: Accel,
    readonly vcpus: number,
    readonly maxVcpus: number = vcpus,
  ) {}
  render(): string[] {
    const model = this.model || (this.accel === "kvm" ? "host" : "max");
    const smp = this.maxVcpus > this.vcpus ? `${this.vcpus},maxcpus=${this.maxVcpus}` : String(this.vcpus);
    return ["-cpu", model, "-smp", smp];
  }
}
