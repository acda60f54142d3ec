/** Domain error codes → ttrpc status codes: the one mapping of the agent's RPC edge. */
import { Code } from "../../protocol/ttrpc/codes.js";
import { TtrpcError } from "../../protocol/ttrpc/errors.js";
import { ContainerError, type ContainerErrorCode } from "../container/errors.js";
import { GuestNetworkError, type GuestNetworkErrorCode } from "../network/errors.js";

export const WIRE_CODES: Record<ContainerErrorCode, Code> = {
  ERR_CONTAINER_NOT_FOUND: Code.NOT_FOUND,
  ERR_PROCESS_NOT_FOUND: Code.NOT_FOUND,
  ERR_PROCESS_FINISHED: Code.NOT_FOUND,
  ERR_CONTAINER_EXISTS: Code.ALREADY_EXISTS,
  ERR_PROCESS_EXISTS: Code.ALREADY_EXISTS,
  ERR_SANDBOX_EXISTS: Code.ALREADY_EXISTS,
  ERR_SPEC_INVALID: Code.INVALID_ARGUMENT,
  ERR_ROOTFS_ESCAPE: Code.INVALID_ARGUMENT,
  ERR_SIGNAL_INVALID: Code.INVALID_ARGUMENT,
  ERR_WRONG_STATE: Code.FAILED_PRECONDITION,
  ERR_SANDBOX_NOT_CREATED: Code.FAILED_PRECONDITION,
  ERR_STDIO_UNAVAILABLE: Code.FAILED_PRECONDITION,
  ERR_CRUN_FAILED: Code.INTERNAL,
  // a debug process that could not be spawned (no such command …)
  ERR_EXEC_FAILED: Code.INVALID_ARGUMENT,
  ERR_CGROUP: Code.INTERNAL,
};

export const NETWORK_WIRE_CODES: Record<GuestNetworkErrorCode, Code> = {
  ERR_NETWORK_INVALID: Code.INVALID_ARGUMENT,
  ERR_NETWORK_NO_SANDBOX: Code.FAILED_PRECONDITION,
  ERR_NETWORK_NIC_NOT_FOUND: Code.NOT_FOUND,
  ERR_NETWORK_UNSUPPORTED: Code.UNIMPLEMENTED,
  ERR_NETWORK_COMMAND: Code.INTERNAL,
  ERR_CONNECTION_NOT_FOUND: Code.NOT_FOUND,
  ERR_CONNECTION_REFUSED: Code.UNAVAILABLE,
  ERR_CONNECTION_LIMIT: Code.RESOURCE_EXHAUSTED,
};

/** A thrown value as the status the host sees; the domain code leads the message. */
export function toWireError(err: unknown): unknown {
  if (err instanceof ContainerError)
    return new TtrpcError(WIRE_CODES[err.code], `${err.code}: ${err.message}`);
  if (err instanceof GuestNetworkError)
    return new TtrpcError(NETWORK_WIRE_CODES[err.code], `${err.code}: ${err.message}`);
  return err;
}
