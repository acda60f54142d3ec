import { opts, type QemuArg, type VirtioBus, virtioDevice } from "./qemu-arg.js";

/**
 * The agent channel as a virtio-serial port: QEMU listens on a unix socket (server=on,
 * wait=off, so boot does not wait for the host) and the guest opens the port by name
 * (`/dev/virtio-ports/<name>`, `/dev/vportNp1`).
 */
export class VirtioSerialChannelArg implements QemuArg {
  constructor(
    readonly socketPath: string,
    readonly portName: string,
    readonly bus: VirtioBus,
  ) {}
  render(): string[] {
    return [
      "-device",
      opts(virtioDevice("virtio-serial", this.bus), { id: "serial0" }),
      "-chardev",
      opts("socket", { id: "agent", path: this.socketPath, server: "on", wait: "off" }),
      "-device",
      opts("virtserialport", { bus: "serial0.0", chardev: "agent", name: this.portName }),
    ];
  }
}

/** The agent channel as vhost-vsock with this sandbox's guest CID. */
export class VsockDeviceArg implements QemuArg {
  constructor(
    readonly guestCid: number,
    readonly bus: VirtioBus,
  ) {}
  render(): string[] {
    return [
      "-device",
      opts(virtioDevice("vhost-vsock", this.bus), { id: "vsock0", "guest-cid": this.guestCid }),
    ];
  }
}
