/** Errors of the operator CLI. Each has a stable `code`; messages name the bad argument or file. */
export type CliErrorCode =
  | "CLI_USAGE"
  | "CLI_INSTALL_CONFLICT"
  | "CLI_INSTALL_BAD_FILE"
  | "CLI_INSTALL_NOT_BUILT"
  /** No running sandbox matches the SANDBOX argument (or several do). */
  | "CLI_SANDBOX_NOT_FOUND"
  /** The sandbox's shim does not answer on its admin socket. */
  | "CLI_SANDBOX_UNREACHABLE";

export class CliError extends Error {
  override readonly name = "CliError";
  readonly code: CliErrorCode;
  constructor(code: CliErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
