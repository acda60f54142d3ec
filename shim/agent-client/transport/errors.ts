/** Errors of the host-side agent transports. */
export type TransportErrorCode = "TRANSPORT_TIMEOUT" | "TRANSPORT_ABORTED" | "TRANSPORT_UNAVAILABLE";

export class TransportError extends Error {
  override name = "TransportError";
  constructor(
    readonly code: TransportErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
