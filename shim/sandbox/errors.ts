/**
 * Errors of the sandbox layer (the pod's VM as the task layer sees it), each with a stable code;
 * the Task service maps them to ttrpc codes once, at its edge.
 */

export type SandboxErrorCode =
  /** The pod asks for a host namespace (hostNetwork, hostPID, hostIPC) a VM cannot share. */
  | "SANDBOX_HOST_NAMESPACE"
  /** The sandbox container's spec or annotations are malformed. */
  | "SANDBOX_SPEC_INVALID"
  /** A container names a pod whose sandbox is not running. */
  | "SANDBOX_NOT_RUNNING"
  /** The pod asks for more memory or vCPUs than this host or the configuration allows. */
  | "SANDBOX_RESOURCES_EXCEEDED"
  /** A mount the pod asks for cannot be honoured in a VM (e.g. host-to-container propagation). */
  | "SANDBOX_MOUNT_UNSUPPORTED";

export class SandboxError extends Error {
  override readonly name = "SandboxError";
  constructor(
    readonly code: SandboxErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
