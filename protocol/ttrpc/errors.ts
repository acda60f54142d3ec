import type { Any } from "@bufbuild/protobuf/wkt";
import { Code, codeName } from "./codes.js";

/**
 * An RPC that ended with a non-OK google.rpc.Status: raised by handlers to choose the code the
 * peer sees, and thrown by the client when the peer answered with an error status (or the call
 * could not complete: deadline, cancellation, closed connection, oversized message).
 */
export class TtrpcError extends Error {
  override readonly name = "TtrpcError";
  readonly code: Code;
  readonly details: Any[];

  constructor(code: Code, message: string, details: Any[] = []) {
    super(message);
    this.code = code;
    this.details = details;
  }

  /** "NOT_FOUND: container c1 not found" — the form used in logs and CLI messages. */
  override toString(): string {
    return `${codeName(this.code)}: ${this.message}`;
  }
}

/** The error every pending and future call on a connection fails with once it is closed. */
export function connectionClosedError(reason: string): TtrpcError {
  return new TtrpcError(Code.UNAVAILABLE, `ttrpc: connection closed: ${reason}`);
}

/** Turns anything a handler threw into the status the peer receives. */
export function toTtrpcError(err: unknown): TtrpcError {
  if (err instanceof TtrpcError) return err;
  if (err instanceof Error) return new TtrpcError(Code.UNKNOWN, err.message);
  return new TtrpcError(Code.UNKNOWN, String(err));
}
