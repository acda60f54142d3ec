/** Errors of the operator CLI. Each has a stable `code`; messages name the bad argument or file. */
export type CliErrorCode =
  | "CLI_USAGE"
  | "CLI_INSTALL_CONFLICT"
  | "CLI_INSTALL_BAD_FILE"
  | "CLI_INSTALL_NOT_BUILT";

export class CliError extends Error {
  override readonly name = "CliError";
  readonly code: CliErrorCode;
  constructor(code: CliErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
