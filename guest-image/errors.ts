/** Errors of the guest image build, each with a stable `code`. */
export type GuestImageErrorCode =
  | "ERR_GUEST_COMMAND_FAILED"
  | "ERR_GUEST_PACKAGE_UNRESOLVED"
  | "ERR_GUEST_DEB_MISSING"
  | "ERR_GUEST_LIBRARY_UNRESOLVED"
  | "ERR_GUEST_MODULE_UNKNOWN"
  | "ERR_GUEST_NODE_RUNTIME_MISSING"
  | "ERR_GUEST_BAD_OPTION";

export class GuestImageError extends Error {
  readonly code: GuestImageErrorCode;
  constructor(code: GuestImageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "GuestImageError";
    this.code = code;
  }
}
