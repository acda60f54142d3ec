import { opts, type QemuArg } from "./qemu-arg.js";

/** The QMP control monitor on a unix socket QEMU listens on. */
export class QmpSocketArg implements QemuArg {
  constructor(readonly socketPath: string) {}
  render(): string[] {
    return [
      "-chardev",
      opts("socket", { id: "qmp", path: this.socketPath, server: "on", wait: "off" }),
      "-mon",
      "chardev=qmp,mode=control",
    ];
  }
}
