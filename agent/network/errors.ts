/** Domain errors of the guest network, each with a stable `code` (mapped to wire codes in agent/rpc). */
export type GuestNetworkErrorCode =
  | "ERR_NETWORK_INVALID"
  | "ERR_NETWORK_NO_SANDBOX"
  | "ERR_NETWORK_NIC_NOT_FOUND"
  | "ERR_NETWORK_UNSUPPORTED"
  | "ERR_NETWORK_COMMAND"
  | "ERR_CONNECTION_NOT_FOUND"
  | "ERR_CONNECTION_REFUSED"
  | "ERR_CONNECTION_LIMIT";

export class GuestNetworkError extends Error {
  readonly code: GuestNetworkErrorCode;
  constructor(code: GuestNetworkErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "GuestNetworkError";
    this.code = code;
  }
}
