/** Errors of the warm VM pool (shim/pool/, docs/pool.md), each with a stable code. */

export type PoolErrorCode =
  /** No idle VM is ready (the pool is empty or still booting). */
  | "POOL_EMPTY"
  /** Idle VMs exist but none fits the request (shape, kernel/image identity). */
  | "POOL_NO_FIT"
  /** A lease is unknown, or expired and its VM was stopped. */
  | "POOL_LEASE_UNKNOWN"
  /** A VM the pool boots did not come up (QEMU, virtiofsd or the agent). */
  | "POOL_BOOT_FAILED"
  /** Another pool already serves the socket. */
  | "POOL_SOCKET_IN_USE"
  /** Taking over a pooled VM failed in the shim (it boots cold instead). */
  | "POOL_ADOPT_FAILED";

export class PoolError extends Error {
  override readonly name = "PoolError";
  constructor(
    readonly code: PoolErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
