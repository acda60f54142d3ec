/** What the sandbox layer uses from the hypervisor area. */
export {
  HypervisorError,
  type HypervisorErrorCode,
  KvmUnusableError,
  QmpCommandError,
  VmDeadError,
} from "./errors.js";
export type {
  GuestStatus,
  Hypervisor,
  StartRequest,
  StopOptions,
  VirtualMachine,
  VmExit,
  VmState,
} from "./hypervisor.js";
export { QemuHypervisor } from "./qemu/qemu-hypervisor.js";
export { cleanupSandbox, sandboxPaths, type TeardownReport } from "./sandbox-resources.js";
