import { opts, type QemuArg } from "./qemu-arg.js";

export const MEMORY_BACKEND_ID = "mem";

/**
 * Guest RAM. With `shared` (needed by vhost-user devices such as virtio-fs, whose daemon maps
 * guest memory) RAM is a `memory-backend-memfd` with share=on, named by the machine.
 */
export class MemoryArg implements QemuArg {
  constructor(
    readonly mib: number,
    readonly shared: boolean,
  ) {}
  get backendId(): string | undefined {
    return this.shared ? MEMORY_BACKEND_ID : undefined;
  }
  render(): string[] {
    const args = ["-m", `${this.mib}M`];
    if (this.shared) {
      args.push(
        "-object",
        opts("memory-backend-memfd", { id: MEMORY_BACKEND_ID, size: `${this.mib}M`, share: "on" }),
      );
    }
    return args;
  }
}
