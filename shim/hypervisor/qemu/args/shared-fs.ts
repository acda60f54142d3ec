import { opts, type QemuArg, type VirtioBus, virtioDevice } from "./qemu-arg.js";

/** virtio-fs: a vhost-user-fs device talking to this sandbox's virtiofsd over its socket. */
export class VirtioFsArg implements QemuArg {
  constructor(
    readonly socketPath: string,
    readonly tag: string,
    readonly bus: VirtioBus,
  ) {}
  render(): string[] {
    return [
      "-chardev",
      opts("socket", { id: "vfs", path: this.socketPath }),
      "-device",
      opts(virtioDevice("vhost-user-fs", this.bus), { chardev: "vfs", tag: this.tag, "queue-size": 1024 }),
    ];
  }
}

/** virtio-9p served by QEMU itself (the fallback when virtiofsd is missing; PCI machines only). */
export class Virtio9pArg implements QemuArg {
  constructor(
    readonly directory: string,
    readonly tag: string,
  ) {}
  render(): string[] {
    return [
      "-fsdev",
      opts("local", { id: "fs9p", path: this.directory, security_model: "none", multidevs: "remap" }),
      "-device",
      opts("virtio-9p-pci", { fsdev: "fs9p", mount_tag: this.tag }),
    ];
  }
}
