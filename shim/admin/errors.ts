/** Errors of the admin endpoint, each with a stable code; admin-service.ts maps them to ttrpc codes. */
export type AdminErrorCode =
  /** DebugExec asked while the sandbox's configuration has [agent] debug_exec = false. */
  | "ADMIN_DEBUG_EXEC_DISABLED"
  /** The sandbox is not running (starting, or its VM is gone). */
  | "ADMIN_NO_SANDBOX"
  /** A debug call names an exec id this endpoint did not start. */
  | "ADMIN_EXEC_NOT_FOUND"
  /** A request field is out of range. */
  | "ADMIN_INVALID";

export class AdminError extends Error {
  override readonly name = "AdminError";
  constructor(
    readonly code: AdminErrorCode,
    message: string,
  ) {
    super(message);
  }
}
