import { opts, type QemuArg, type VirtioBus, virtioDevice } from "./qemu-arg.js";

export type DiskFormat = "raw" | "qcow2";

/** The guest image as a read-only virtio-blk disk (the guest's /dev/vda). */
export class RootDiskArg implements QemuArg {
  constructor(
    readonly path: string,
    readonly format: DiskFormat,
    readonly bus: VirtioBus,
  ) {}
  render(): string[] {
    return [
      "-drive",
      opts(`file=${this.path.replaceAll(",", ",,")}`, {
        if: "none",
        id: "rootfs",
        format: this.format,
        readonly: "on",
        "cache.direct": "off",
      }),
      "-device",
      opts(virtioDevice("virtio-blk", this.bus), { drive: "rootfs", id: "rootdisk" }),
    ];
  }
}
