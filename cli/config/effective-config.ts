/**
 * The configuration as a command sees it: which file was chosen and by which rule, every key of
 * `configuration.toml` with its value and where the value came from, and the validated config
 * (or the issues that make it invalid). Read leniently, so `tskata check` and `tskata env` can
 * still report on a file the shim would refuse.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse } from "smol-toml";
import { ConfigError, type ConfigIssue } from "../../shim/config/errors.js";
import { CONF_FILE_ENV, defaultConfigCandidates, loadConfig, parseConfig } from "../../shim/config/load.js";
import { defaultGuestArtifacts, type GuestArtifacts, resolveGuestDir } from "../../shim/config/paths.js";
import { SCHEMA } from "../../shim/config/schema.js";
import type { TskataConfig } from "../../shim/config/types.js";

export type LookupRule = "--config" | "env TSKATA_CONF_FILE" | "default lookup";
export type ValueSource = "file" | "default" | "env";
export type KeyValue = string | number | boolean | null;

export interface LookupStep {
  path: string;
  rule: LookupRule;
  exists: boolean;
}

export interface EffectiveKey {
  /** Dotted key, e.g. `hypervisor.memory_mib`. */
  key: string;
  /** null: unset (image/initrd when the other one is used). */
  value: KeyValue;
  source: ValueSource;
  /** For defaults that depend on the environment or the guest image: where they came from. */
  origin?: string;
}

export interface EffectiveConfig {
  /** The file read, or undefined when built-in defaults apply. */
  file: string | undefined;
  chosenBy: LookupRule | "built-in defaults";
  /** Every place looked at, in order. */
  lookup: LookupStep[];
  keys: EffectiveKey[];
  /** The validated configuration, or undefined when `issues` is not empty. */
  config: TskataConfig | undefined;
  issues: ConfigIssue[];
  guest: GuestArtifacts;
}

export interface ReadOptions {
  env?: NodeJS.ProcessEnv;
  /** Injected for tests; defaults to the guest image resolved from `env`. */
  guestArtifacts?: () => GuestArtifacts;
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

export function configLookup(explicitPath: string | undefined, env: NodeJS.ProcessEnv): LookupStep[] {
  const step = (path: string, rule: LookupRule): LookupStep => ({ path, rule, exists: existsSync(path) });
  if (explicitPath) return [step(resolve(explicitPath), "--config")];
  const named = env[CONF_FILE_ENV];
  if (named) return [step(resolve(named), "env TSKATA_CONF_FILE")];
  return defaultConfigCandidates().map((p) => step(p, "default lookup"));
}

export function readEffectiveConfig(explicitPath?: string, opts: ReadOptions = {}): EffectiveConfig {
  const env = opts.env ?? process.env;
  const lookup = configLookup(explicitPath, env);
  // An explicit path or $TSKATA_CONF_FILE is used even when missing (so the error names it).
  const chosen = lookup[0]?.rule === "default lookup" ? lookup.find((s) => s.exists) : lookup[0];
  const guestArtifacts = opts.guestArtifacts ?? (() => defaultGuestArtifacts(resolveGuestDir(env)));
  const guest = guestArtifacts();
  const issues: ConfigIssue[] = [];

  let doc: Record<string, unknown> = {};
  if (chosen) {
    try {
      const parsed = parse(readFileSync(chosen.path, "utf8"));
      if (isTable(parsed)) doc = parsed;
    } catch {
      // reported below by the real loader, which names the problem
    }
  }

  let config: TskataConfig | undefined;
  try {
    config = chosen
      ? loadConfig(chosen.path, { guestArtifacts: () => guest })
      : parseConfig("", { source: "defaults", guestArtifacts: () => guest });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    issues.push(...err.issues);
  }

  const baseDir = chosen ? dirname(chosen.path) : process.cwd();
  const keys = effectiveKeys(doc, baseDir, guest);
  return {
    file: chosen?.path,
    chosenBy: chosen?.rule ?? "built-in defaults",
    lookup,
    keys,
    config,
    issues,
    guest,
  };
}

function effectiveKeys(doc: Record<string, unknown>, baseDir: string, guest: GuestArtifacts): EffectiveKey[] {
  const out: EffectiveKey[] = [];
  const hv = isTable(doc["hypervisor"]) ? doc["hypervisor"] : {};
  const imageOrInitrdGiven = "image" in hv || "initrd" in hv;
  const guestSource: ValueSource = guest.guestDir.reason === "env TSKATA_GUEST_DIR" ? "env" : "default";
  const guestOrigin = `guest image (${guest.guestDir.reason} ${guest.guestDir.dir})`;
  for (const [section, specs] of Object.entries(SCHEMA)) {
    const table = isTable(doc[section]) ? doc[section] : {};
    for (const [name, spec] of Object.entries(specs)) {
      const key = `${section}.${name}`;
      const raw = table[name];
      if (
        raw !== undefined &&
        (typeof raw === "string" || typeof raw === "number" || typeof raw === "boolean")
      ) {
        const relative = spec.kind === "path" && spec.check !== "absolute-dir" && typeof raw === "string";
        const value = relative && raw !== "" ? resolve(baseDir, raw) : raw;
        out.push({
          key,
          value: key.endsWith("image") || key.endsWith("initrd") ? value || null : value,
          source: "file",
        });
        continue;
      }
      if (key === "hypervisor.kernel") {
        out.push({ key, value: guest.kernel, source: guestSource, origin: guestOrigin });
      } else if ((key === "hypervisor.image" || key === "hypervisor.initrd") && !imageOrInitrdGiven) {
        const value = key === "hypervisor.image" ? guest.image : guest.initrd;
        out.push({ key, value: value ?? null, source: guestSource, origin: guestOrigin });
      } else if (key === "hypervisor.image" || key === "hypervisor.initrd") {
        out.push({ key, value: null, source: "default" });
      } else {
        out.push({ key, value: spec.default, source: "default" });
      }
    }
  }
  return out;
}

/** The value of one key (lenient: present even when the file is invalid). */
export function keyValue(effective: EffectiveConfig, key: string): KeyValue {
  return effective.keys.find((k) => k.key === key)?.value ?? null;
}
