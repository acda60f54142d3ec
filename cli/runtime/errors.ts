/**
 * Errors of `tskata-runtime`, each with a stable code. Their messages are runc's texts where a
 * runc caller (containerd's runc shim, dockerd, conmon) may read them, e.g. "container does not
 * exist" or "container with id exists: ID".
 */
export type RuntimeErrorCode =
  /** Unknown command or flag, missing or extra arguments. */
  | "RUNTIME_USAGE"
  /** The bundle or its config.json is missing or malformed. */
  | "RUNTIME_BAD_BUNDLE"
  | "RUNTIME_BAD_ID"
  | "RUNTIME_EXISTS"
  | "RUNTIME_NOT_FOUND"
  /** The container is not in a state that allows the command. */
  | "RUNTIME_WRONG_STATE"
  | "RUNTIME_BAD_INPUT"
  /** The container's stand-in failed to create or run it. */
  | "RUNTIME_FAILED";

export class RuntimeError extends Error {
  override readonly name = "RuntimeError";
  constructor(
    readonly code: RuntimeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const usage = (message: string) => new RuntimeError("RUNTIME_USAGE", message);
export const notFound = () => new RuntimeError("RUNTIME_NOT_FOUND", "container does not exist");
