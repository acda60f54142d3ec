import { opts, type QemuArg } from "./qemu-arg.js";

export const MEMORY_BACKEND_ID = "mem";

/**
 * Hotplugged memory comes in DIMMs of whole 128 MiB steps: the x86 guest kernel onlines memory
 * in 128 MiB blocks (/sys/devices/system/memory/block_size_bytes = 0x8000000), so any other size
 * would leave a partial block the guest cannot use.
 */
export const HOTPLUG_ALIGN_MIB = 128;

/**
 * DIMM slots reserved at start (`-m ...,slots=N`): each grow takes one. Each DIMM is also one
 * more memory region every vhost-user backend (virtiofsd) maps; QEMU refuses a DIMM the backend
 * has no slot for.
 */
export const HOTPLUG_SLOTS = 8;

/** The hotplug ceiling for `base` MiB of RAM under `ceiling`: base plus whole 128 MiB steps. */
export function hotplugMaxMemoryMib(base: number, ceiling: number): number {
  const room = Math.max(0, ceiling - base);
  return base + Math.floor(room / HOTPLUG_ALIGN_MIB) * HOTPLUG_ALIGN_MIB;
}

/**
 * Guest RAM. With `shared` (needed by vhost-user devices such as virtio-fs, whose daemon maps
 * guest memory) RAM is a `memory-backend-memfd` with share=on, named by the machine. With
 * `maxMib` above `mib`, QEMU reserves address space and DIMM slots for memory hotplug;
 * `deviceMib` is address space for memory devices plugged at start (a virtio-pmem root image),
 * added to maxmem on top of the hotplug ceiling.
 */
export class MemoryArg implements QemuArg {
  constructor(
    readonly mib: number,
    readonly shared: boolean,
    readonly maxMib: number = mib,
    readonly deviceMib: number = 0,
  ) {}
  get backendId(): string | undefined {
    return this.shared ? MEMORY_BACKEND_ID : undefined;
  }
  get hotpluggable(): boolean {
    return this.maxMib > this.mib;
  }
  render(): string[] {
    const size =
      this.hotpluggable || this.deviceMib > 0
        ? opts(`${this.mib}M`, { slots: HOTPLUG_SLOTS, maxmem: `${this.maxMib + this.deviceMib}M` })
        : `${this.mib}M`;
    const args = ["-m", size];
    if (this.shared) {
      args.push(
        "-object",
        opts("memory-backend-memfd", { id: MEMORY_BACKEND_ID, size: `${this.mib}M`, share: "on" }),
      );
    }
    return args;
  }
}
