/** Domain errors of containers and processes, each with a stable `code` (mapped to wire codes in agent/rpc). */
export type ContainerErrorCode =
  | "ERR_CONTAINER_NOT_FOUND"
  | "ERR_CONTAINER_EXISTS"
  | "ERR_PROCESS_NOT_FOUND"
  | "ERR_PROCESS_EXISTS"
  | "ERR_PROCESS_FINISHED"
  | "ERR_SPEC_INVALID"
  | "ERR_ROOTFS_ESCAPE"
  | "ERR_SIGNAL_INVALID"
  | "ERR_WRONG_STATE"
  | "ERR_SANDBOX_NOT_CREATED"
  | "ERR_SANDBOX_EXISTS"
  | "ERR_STDIO_UNAVAILABLE"
  | "ERR_CRUN_FAILED"
  | "ERR_EXEC_FAILED"
  | "ERR_CGROUP";

export class ContainerError extends Error {
  readonly code: ContainerErrorCode;
  constructor(code: ContainerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ContainerError";
    this.code = code;
  }
}
