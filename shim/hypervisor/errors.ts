/** Errors of the hypervisor area, each with a stable `code`. */

export type HypervisorErrorCode =
  | "KVM_UNUSABLE"
  | "VM_START_FAILED"
  | "VM_DEAD"
  | "VM_STOP_FAILED"
  | "QMP_ERROR"
  | "QMP_CLOSED"
  | "QMP_TIMEOUT"
  | "QMP_PROTOCOL"
  | "VIRTIOFSD_FAILED"
  | "SHARED_FS_UNAVAILABLE"
  | "ROOT_IMAGE_UNSUITABLE"
  | "AGENT_CHANNEL_UNAVAILABLE"
  | "SANDBOX_ID_INVALID"
  | "SANDBOX_PATH_TOO_LONG"
  | "SANDBOX_EXISTS"
  | "CLEANUP_FAILED"
  | "HYPERVISOR_RESOURCES_EXCEEDED"
  | "HYPERVISOR_RESIZE_INVALID"
  | "HYPERVISOR_HOTPLUG_FAILED";

export class HypervisorError extends Error {
  override name = "HypervisorError";
  readonly code: HypervisorErrorCode;
  constructor(code: HypervisorErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** `accel = "kvm"` on a host where the probe says KVM cannot run a guest. */
export class KvmUnusableError extends HypervisorError {
  override name = "KvmUnusableError";
  constructor(reason: string) {
    super("KVM_UNUSABLE", `hypervisor.accel = "kvm" but KVM cannot run a guest on this host: ${reason}`);
  }
}

/** The VM is gone (QEMU exited or was killed) while a caller needed it. */
export class VmDeadError extends HypervisorError {
  override name = "VmDeadError";
  constructor(sandboxId: string, reason: string) {
    super("VM_DEAD", `sandbox ${sandboxId}: VM is dead: ${reason}`);
  }
}

/** An error reply from QMP (`{"error": {"class", "desc"}}`). */
export class QmpCommandError extends HypervisorError {
  override name = "QmpCommandError";
  readonly errorClass: string;
  constructor(command: string, errorClass: string, desc: string) {
    super("QMP_ERROR", `QMP ${command} failed: ${errorClass}: ${desc}`);
    this.errorClass = errorClass;
  }
}

/**
 * A resize asked for more than the VM may have (its configured maximum, its free memory slots,
 * or what the host has available). Nothing was changed.
 */
export class ResourcesExceededError extends HypervisorError {
  override name = "ResourcesExceededError";
  constructor(sandboxId: string, what: string) {
    super("HYPERVISOR_RESOURCES_EXCEEDED", `sandbox ${sandboxId}: cannot grow: ${what}`);
  }
}
