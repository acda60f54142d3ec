/**
 * Shared filesystem for container rootfs and volumes: virtiofsd (virtio-fs), else QEMU's
 * built-in virtio-9p on PCI machines. Required.
 */
import type { MachineType, SharedFsSetting } from "../../shim/config/types.js";
import { type CheckResult, fail, ok, warn } from "./check-result.js";

export interface SharedFsInputs {
  setting: SharedFsSetting;
  virtiofsdPath: string;
  machineType: MachineType;
  isExecutable: (path: string) => boolean;
}

const INSTALL_VIRTIOFSD =
  "apt-get install qemu-system-common (ships /usr/lib/qemu/virtiofsd), or set hypervisor.virtiofsd_path";

export function checkSharedFs(inputs: SharedFsInputs): CheckResult {
  const hasVirtiofsd = inputs.isExecutable(inputs.virtiofsdPath);
  const ninePOk = inputs.machineType !== "microvm";
  if (inputs.setting === "virtio-9p") {
    return ninePOk
      ? ok("shared-fs", `virtio-9p (configured), QEMU built in`)
      : fail(
          "shared-fs",
          'virtio-9p needs a PCI machine, machine_type is "microvm"',
          'set hypervisor.machine_type = "q35"',
        );
  }
  if (hasVirtiofsd) return ok("shared-fs", `virtio-fs with ${inputs.virtiofsdPath}`);
  if (inputs.setting === "virtio-fs")
    return fail(
      "shared-fs",
      `virtiofsd not executable at ${inputs.virtiofsdPath} and shared_fs = "virtio-fs"`,
      INSTALL_VIRTIOFSD,
    );
  if (!ninePOk)
    return fail(
      "shared-fs",
      `virtiofsd not executable at ${inputs.virtiofsdPath}, and the 9p fallback needs a PCI machine (machine_type is "microvm")`,
      INSTALL_VIRTIOFSD,
    );
  return warn(
    "shared-fs",
    `virtiofsd not executable at ${inputs.virtiofsdPath}; falling back to virtio-9p (slower)`,
    INSTALL_VIRTIOFSD,
  );
}
