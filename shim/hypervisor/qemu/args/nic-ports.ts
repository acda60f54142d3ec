import { opts, type QemuArg } from "./qemu-arg.js";

/** Root port ids a hotplugged NIC can go to: `tsknicport<N>`. */
export const NIC_PORT_PREFIX = "tsknicport";

/**
 * Empty PCIe root ports for NICs plugged after boot (q35: devices cannot be hotplugged onto
 * pcie.0 itself). Warm-pool VMs boot with them, so that the shim adopting one for a pod with a
 * network can plug the pod's NICs in (nic-hotplug.ts). Each port needs its own chassis number.
 */
export class NicHotplugPortsArg implements QemuArg {
  constructor(readonly count: number) {}
  render(): string[] {
    return Array.from({ length: this.count }, (_, i) => [
      "-device",
      opts("pcie-root-port", { id: `${NIC_PORT_PREFIX}${i}`, bus: "pcie.0", chassis: 16 + i }),
    ]).flat();
  }
}
