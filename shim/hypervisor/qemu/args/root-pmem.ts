import { opts, type QemuArg } from "./qemu-arg.js";

export const ROOT_PMEM_BACKEND_ID = "rootimg";

/**
 * Alignment of the pmem region (and so of the image size): the guest maps device memory with
 * struct pages, which DAX needs, in 2 MiB subsections.
 */
export const PMEM_ALIGN_BYTES = 2 * 1024 * 1024;

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
        align: PMEM_ALIGN_BYTES,
      }),
      "-device",
      opts("virtio-pmem-pci", { memdev: ROOT_PMEM_BACKEND_ID, id: "rootpmem" }),
    ];
  }
}

/** MiB of device-memory address space a pmem region of `sizeBytes` takes. */
export function pmemRegionMib(sizeBytes: number): number {
  return Math.ceil(sizeBytes / PMEM_ALIGN_BYTES) * (PMEM_ALIGN_BYTES / 1048576);
}
