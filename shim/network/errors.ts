/** Errors of the pod network area (host side), each with a stable `code`. */

export type NetworkErrorCode =
  | "NETWORK_NETNS_INVALID"
  | "NETWORK_HOST_NETNS"
  | "NETWORK_NO_INTERFACES"
  | "NETWORK_INSPECT_FAILED"
  | "NETWORK_ATTACH_FAILED"
  | "NETWORK_DETACH_FAILED"
  | "NETWORK_GUEST_CONFIG_FAILED"
  | "NETWORK_PORT_FORWARD_FAILED";

export class NetworkError extends Error {
  override name = "NetworkError";
  readonly code: NetworkErrorCode;
  constructor(code: NetworkErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
