import type { QemuArg } from "./qemu-arg.js";

/** Direct kernel boot: `-kernel`, optional `-initrd`, `-append`. */
export class KernelArg implements QemuArg {
  constructor(
    readonly kernel: string,
    readonly initrd: string | undefined,
    readonly params: readonly string[],
  ) {}
  render(): string[] {
    const args = ["-kernel", this.kernel];
    if (this.initrd) args.push("-initrd", this.initrd);
    args.push("-append", this.params.filter((p) => p !== "").join(" "));
    return args;
  }
}
