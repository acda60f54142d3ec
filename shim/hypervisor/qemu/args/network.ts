import { opts, type QemuArg, type VirtioBus, virtioDevice } from "./qemu-arg.js";

/**
 * One pod interface: a tap QEMU opens by name (QEMU runs inside the pod netns, where the tap was
 * made and redirected to CNI's veth) and a virtio-net device with the veth's MAC and MTU.
 * vhost=off: no /dev/vhost-net assumed; no option ROM (the guest boots a kernel, not PXE).
 */
export class NetworkArg implements QemuArg {
  constructor(
    readonly index: number,
    readonly tapName: string,
    readonly mac: string,
    readonly mtu: number,
    readonly bus: VirtioBus,
  ) {}
  render(): string[] {
    const id = `net${this.index}`;
    return [
      "-netdev",
      opts("tap", { id, ifname: this.tapName, script: "no", downscript: "no", vhost: "off" }),
      "-device",
      opts(virtioDevice("virtio-net", this.bus), {
        netdev: id,
        id: `nic${this.index}`,
        mac: this.mac,
        host_mtu: this.mtu,
        romfile: this.bus === "pci" ? "" : undefined,
      }),
    ];
  }
}
