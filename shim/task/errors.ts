/**
 * Errors of the task layer, each with a stable code; the Task service turns them into the
 * ttrpc codes containerd maps (errdefs): NOT_FOUND, ALREADY_EXISTS, INVALID_ARGUMENT,
 * FAILED_PRECONDITION, UNIMPLEMENTED.
 */

export type TaskErrorCode =
  | "TASK_NOT_FOUND"
  | "TASK_EXISTS"
  | "TASK_INVALID"
  | "TASK_WRONG_STATE"
  | "PROCESS_FINISHED"
  | "TASK_UNSUPPORTED"
  | "TASK_HOOK_FAILED";

export class TaskError extends Error {
  override readonly name = "TaskError";
  constructor(
    readonly code: TaskErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const notFound = (what: string) => new TaskError("TASK_NOT_FOUND", `${what}: not found`);
export const invalid = (message: string, cause?: unknown) =>
  new TaskError("TASK_INVALID", message, cause === undefined ? undefined : { cause });
