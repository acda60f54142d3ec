import { opts, type QemuArg } from "./qemu-arg.js";

export const ROOT_PMEM_BACKEND_ID = "rootimg";

/**
 * The image size must be a whole number of these: the pmem region sits first in the machine's
 * device-memory area and hotplugged DIMMs go right after it, and the x86 guest onlines memory in
 * 128 MiB blocks, so a region of any other size would leave every later DIMM unusable.
 */
export const PMEM_ALIGN_BYTES = 128 * 1024 * 1024;

/** Host mapping alignment of the image (the guest maps device memory in 2 MiB subsections). */
const PMEM_MAP_ALIGN_BYTES = 2 * 1024 * 1024;

/**
 * The guest image as a virtio-pmem device (the guest's /dev/pmem0): the image file mapped
 * read-only and shared (share=on, readonly=on), so every VM reads the same host page-cache pages
 * through DAX instead of copying them into its own RAM. The region lives in the machine's
 * device-memory area: `-m maxmem` must leave room for it (MemoryArg's deviceMib).
 */
export class RootPmemArg implements QemuArg {
  constructor(
    readonly path: string,
    readonly sizeBytes: number,
  ) {}
  render(): string[] {
    return [
      "-object",
      opts("memory-backend-file", {
        id: ROOT_PMEM_BACKEND_ID,
        "mem-path": this.path,
        size: this.sizeBytes,
        share: "on",
        readonly: "on",
        align: PMEM_MAP_ALIGN_BYTES,
      }),
      "-device",
      opts("virtio-pmem-pci", { memdev: ROOT_PMEM_BACKEND_ID, id: "rootpmem" }),
    ];
  }
}

/** MiB of device-memory address space a pmem region of `sizeBytes` takes (whole 128 MiB steps). */
export function pmemRegionMib(sizeBytes: number): number {
  return Math.ceil(sizeBytes / PMEM_ALIGN_BYTES) * (PMEM_ALIGN_BYTES / 1048576);
}
