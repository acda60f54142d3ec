/** Errors of the configuration area. Each has a stable `code`; messages name the offending key. */

export interface ConfigIssue {
  /** Dotted key, e.g. `hypervisor.memory_mib`; the file itself is ``. */
  key: string;
  message: string;
}

export type ConfigErrorCode = "CONFIG_INVALID" | "CONFIG_UNREADABLE" | "CONFIG_SYNTAX";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code: ConfigErrorCode;
  readonly issues: readonly ConfigIssue[];
  /** The first offending key (the one the message starts with). */
  readonly key: string;

  constructor(code: ConfigErrorCode, issues: readonly ConfigIssue[], source?: string) {
    const where = source ? ` (in ${source})` : "";
    const text = issues.map((i) => (i.key ? `${i.key}: ${i.message}` : i.message)).join("; ");
    super(`${text}${where}`);
    this.code = code;
    this.issues = issues;
    this.key = issues[0]?.key ?? "";
  }
}
