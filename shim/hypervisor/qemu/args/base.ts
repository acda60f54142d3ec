import type { QemuArg } from "./qemu-arg.js";

/**
 * What every tskata VM gets: no default devices or user config, no display, exit instead of
 * rebooting (a guest panic or reboot ends the VM), and no daemonizing: the shim supervises
 * QEMU as its child.
 */
export class BaseArgs implements QemuArg {
  constructor(readonly name: string) {}
  render(): string[] {
    return [
      "-name",
      `tskata-${this.name},debug-threads=on`,
      "-nodefaults",
      "-no-user-config",
      "-nographic",
      "-no-reboot",
    ];
  }
}
