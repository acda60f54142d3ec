export { ConfigError, type ConfigErrorCode, type ConfigIssue } from "./errors.js";
export { findConfigFile, loadConfig, parseConfig } from "./load.js";
export { defaultGuestArtifacts, packageRoot, resolveGuestDir } from "./paths.js";
export type * from "./types.js";
