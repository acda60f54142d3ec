import { opts, type QemuArg } from "./qemu-arg.js";

/** The guest's first serial port (ttyS0) written to a log file on the host. */
export class SerialConsoleArg implements QemuArg {
  constructor(readonly logPath: string) {}
  render(): string[] {
    return ["-chardev", opts("file", { id: "console", path: this.logPath }), "-serial", "chardev:console"];
  }
}
