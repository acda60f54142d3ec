/** Errors of the in-guest agent, each with a stable `code`. */
export type AgentErrorCode =
  | "ERR_AGENT_BAD_CMDLINE"
  | "ERR_AGENT_CHANNEL_NOT_FOUND"
  | "ERR_AGENT_TRANSPORT_UNSUPPORTED"
  | "ERR_AGENT_MODULE_LOAD"
  | "ERR_AGENT_MOUNT"
  | "ERR_AGENT_SHARED_FS"
  | "ERR_AGENT_HOTPLUG";

export class AgentError extends Error {
  readonly code: AgentErrorCode;
  constructor(code: AgentErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AgentError";
    this.code = code;
  }
}
