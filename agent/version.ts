declare const __TSKATA_AGENT_VERSION__: string | undefined;

/** tskata version the agent was built from (set by the guest image bundle; "dev" when run from source). */
export const AGENT_VERSION: string =
  typeof __TSKATA_AGENT_VERSION__ === "string" ? __TSKATA_AGENT_VERSION__ : "dev";

/** The agent API this agent speaks. */
export const AGENT_API_VERSION = "tskata.agent.v1";
