/** Reads `configuration.toml` (explicit path, else the first of the standard places, else defaults). */
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

/** The file `loadConfig()` reads when given no path, or undefined for built-in defaults. */
export function findConfigFile(): string | undefined {
  const root = packageRoot();
  const candidates = [...DEFAULT_CONFIG_PATHS, ...(root ? [join(root, "configuration.toml")] : [])];
  return candidates.find((p) => existsSync(p));
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
