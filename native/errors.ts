/** A failed libc call: `errno` and its name are kept, the message names the call and its subject. */
export class NativeError extends Error {
  readonly code = "ERR_NATIVE_CALL";
  constructor(
    readonly syscall: string,
    readonly errno: number,
    readonly errnoName: string,
    readonly detail?: string,
  ) {
    super(`${syscall}${detail ? ` ${detail}` : ""} failed: ${errnoName} (errno ${errno})`);
    this.name = "NativeError";
  }
}
