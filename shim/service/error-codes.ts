/** Domain errors → the ttrpc status codes containerd maps to its errdefs. */
import { Code } from "../../protocol/ttrpc/codes.js";
import { TtrpcError } from "../../protocol/ttrpc/errors.js";
import { AgentProtocolError } from "../agent-client/agent-replies.js";
import { ConfigError } from "../config/errors.js";
import { HypervisorError } from "../hypervisor/errors.js";
import { StdioUriError } from "../io/stdio-uri.js";
import { NetworkError, type NetworkErrorCode } from "../network/errors.js";
import { ProcessStateError } from "../process/state.js";
import { RootfsError } from "../rootfs/rootfs.js";
import { SandboxError, type SandboxErrorCode } from "../sandbox/errors.js";
import { TaskError, type TaskErrorCode } from "../task/errors.js";

const TASK_CODES: Record<TaskErrorCode, Code> = {
  TASK_NOT_FOUND: Code.NOT_FOUND,
  TASK_EXISTS: Code.ALREADY_EXISTS,
  TASK_INVALID: Code.INVALID_ARGUMENT,
  TASK_WRONG_STATE: Code.FAILED_PRECONDITION,
  PROCESS_FINISHED: Code.NOT_FOUND,
  TASK_UNSUPPORTED: Code.UNIMPLEMENTED,
  TASK_HOOK_FAILED: Code.UNKNOWN,
};

const SANDBOX_CODES: Record<SandboxErrorCode, Code> = {
  SANDBOX_HOST_NAMESPACE: Code.INVALID_ARGUMENT,
  SANDBOX_SPEC_INVALID: Code.INVALID_ARGUMENT,
  SANDBOX_NOT_RUNNING: Code.FAILED_PRECONDITION,
  SANDBOX_RESOURCES_EXCEEDED: Code.RESOURCE_EXHAUSTED,
  SANDBOX_MOUNT_UNSUPPORTED: Code.INVALID_ARGUMENT,
};

const NETWORK_CODES: Record<NetworkErrorCode, Code> = {
  NETWORK_NETNS_INVALID: Code.INVALID_ARGUMENT,
  NETWORK_HOST_NETNS: Code.INVALID_ARGUMENT,
  NETWORK_NO_INTERFACES: Code.FAILED_PRECONDITION,
  NETWORK_INSPECT_FAILED: Code.UNAVAILABLE,
  NETWORK_ATTACH_FAILED: Code.UNAVAILABLE,
  NETWORK_DETACH_FAILED: Code.UNAVAILABLE,
  NETWORK_GUEST_CONFIG_FAILED: Code.UNAVAILABLE,
  NETWORK_PORT_FORWARD_FAILED: Code.UNAVAILABLE,
};

export function toTtrpcStatus(err: unknown): TtrpcError {
  if (err instanceof TtrpcError) return err;
  if (err instanceof TaskError) return new TtrpcError(TASK_CODES[err.code], err.message);
  if (err instanceof ProcessStateError) return new TtrpcError(Code.FAILED_PRECONDITION, err.message);
  if (err instanceof StdioUriError || err instanceof ConfigError) {
    return new TtrpcError(Code.INVALID_ARGUMENT, err.message);
  }
  if (err instanceof SandboxError)
    return new TtrpcError(SANDBOX_CODES[err.code], `${err.code}: ${err.message}`);
  if (err instanceof AgentProtocolError) return new TtrpcError(Code.DATA_LOSS, `${err.code}: ${err.message}`);
  if (err instanceof NetworkError)
    return new TtrpcError(NETWORK_CODES[err.code], `pod network: ${err.code}: ${err.message}`);
  if (err instanceof RootfsError) return new TtrpcError(Code.INVALID_ARGUMENT, err.message);
  if (err instanceof HypervisorError && err.code === "HYPERVISOR_RESOURCES_EXCEEDED") {
    // permanent for this request: retrying cannot help, unlike a VM that failed to start
    return new TtrpcError(Code.RESOURCE_EXHAUSTED, `sandbox VM: ${err.code}: ${err.message}`);
  }
  if (err instanceof HypervisorError) {
    return new TtrpcError(Code.UNAVAILABLE, `sandbox VM: ${err.code}: ${err.message}`);
  }
  return new TtrpcError(Code.UNKNOWN, err instanceof Error ? err.message : String(err));
}
