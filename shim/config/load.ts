/**
 * Reads `configuration.toml`: the explicit path, else `$TSKATA_CONF_FILE`, else the first of the
 * standard places, else built-in defaults.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parse, TomlError } from "smol-toml";
import { ConfigError } from "./errors.js";
import { DEFAULT_CONFIG_PATHS, packageRoot } from "./paths.js";
import type { TskataConfig } from "./types.js";
import { type ValidateOptions, validateConfig } from "./validate.js";

export type ParseOptions = Partial<ValidateOptions>;

/** Parses and validates TOML text. Throws ConfigError; starts nothing. */
export function parseConfig(text: string, opts: ParseOptions = {}): TskataConfig {
  const source = opts.source ?? "<inline>";
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    const detail =
      err instanceof TomlError ? `line ${err.line}, column ${err.column}: ${err.message}` : String(err);
    throw new ConfigError("CONFIG_SYNTAX", [{ key: "", message: `TOML syntax error at ${detail}` }], source);
  }
  return validateConfig(raw, { ...opts, source, baseDir: opts.baseDir ?? process.cwd() });
}

/** Names the configuration file for the shim and every command, ahead of the default lookup. */
export const CONF_FILE_ENV = "TSKATA_CONF_FILE";

/** The default lookup, first existing file wins (after an explicit path and $TSKATA_CONF_FILE). */
export function defaultConfigCandidates(): string[] {
  const root = packageRoot();
  return [...DEFAULT_CONFIG_PATHS, ...(root ? [join(root, "configuration.toml")] : [])];
}

/**
 * The file `loadConfig()` reads when given no path: `$TSKATA_CONF_FILE` when set (used even if
 * it does not exist, so a typo fails loudly), else the first existing default candidate, else
 * undefined for built-in defaults.
 */
export function findConfigFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const named = env[CONF_FILE_ENV];
  if (named) return resolve(named);
  return defaultConfigCandidates().find((p) => existsSync(p));
}

export function loadConfig(path?: string, opts: Omit<ParseOptions, "source" | "baseDir"> = {}): TskataConfig {
  const file = path ?? findConfigFile();
  if (!file) return parseConfig("", { ...opts, source: "defaults" });
  const abs = resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, "utf8");
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError("CONFIG_UNREADABLE", [{ key: "", message: `cannot read ${abs}: ${reason}` }], abs);
  }
  return parseConfig(text, { ...opts, source: abs, baseDir: dirname(abs) });
}
