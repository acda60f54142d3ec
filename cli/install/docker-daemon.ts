/**
 * Docker's daemon.json `runtimes.tskata` entry. JSON is rewritten whole, so install keeps the
 * original text in a state file beside it (`daemon.json.tskata-install`) and uninstall puts it
 * back byte for byte when nothing else changed since (else it removes only the entry).
 */
import { canonicalJson } from "../../guest-image/manifest.js";
import { CliError } from "../errors.js";
import type { FileChange } from "./file-change.js";
import { readText } from "./read-text.js";

export const DOCKER_RUNTIME_NAME = "tskata";
export const STATE_SUFFIX = ".tskata-install";

interface InstallState {
  /** daemon.json before install; null when install created it. */
  original: string | null;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function parseJson(text: string, path: string): Json {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new CliError("CLI_INSTALL_BAD_FILE", `${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(v)) throw new CliError("CLI_INSTALL_BAD_FILE", `${path} must hold a JSON object`);
  return v;
}

function withoutEntry(doc: Json): Json {
  const runtimes = isObject(doc["runtimes"]) ? { ...doc["runtimes"] } : undefined;
  if (!runtimes) return doc;
  delete runtimes[DOCKER_RUNTIME_NAME];
  const out = { ...doc };
  if (Object.keys(runtimes).length === 0) delete out["runtimes"];
  else out["runtimes"] = runtimes;
  return out;
}

export function planDockerInstall(path: string, runtimePath: string): FileChange[] {
  const statePath = path + STATE_SUFFIX;
  const before = readText(path);
  const state = readText(statePath);
  const doc = before === undefined ? {} : parseJson(before, path);
  const entry = { path: runtimePath };
  const runtimes = isObject(doc["runtimes"]) ? doc["runtimes"] : {};
  const current = runtimes[DOCKER_RUNTIME_NAME];
  const what = `runtimes.${DOCKER_RUNTIME_NAME} = {"path": ${JSON.stringify(runtimePath)}}`;
  if (current !== undefined && canonicalJson(current) === canonicalJson(entry))
    return [{ path, before, after: before, mode: 0o644, what }];
  if (current !== undefined && state === undefined)
    throw new CliError(
      "CLI_INSTALL_CONFLICT",
      `${path} already has a runtimes.${DOCKER_RUNTIME_NAME} entry not added by tskata; remove it first`,
    );
  const after = `${JSON.stringify({ ...doc, runtimes: { ...runtimes, [DOCKER_RUNTIME_NAME]: entry } }, null, 2)}\n`;
  const changes: FileChange[] = [{ path, before, after, mode: 0o644, what }];
  if (state === undefined) {
    const record: InstallState = { original: before ?? null };
    changes.push({
      path: statePath,
      before: undefined,
      after: `${JSON.stringify(record)}\n`,
      mode: 0o600,
      what: `the original ${path}, for uninstall`,
    });
  }
  return changes;
}

export function planDockerRemoval(path: string): FileChange[] {
  const statePath = path + STATE_SUFFIX;
  const before = readText(path);
  const stateText = readText(statePath);
  if (stateText === undefined)
    return [{ path, before, after: before, mode: 0o644, what: "holds no entry added by tskata install" }];
  let state: InstallState;
  try {
    state = JSON.parse(stateText) as InstallState;
  } catch (err) {
    throw new CliError("CLI_INSTALL_BAD_FILE", `${statePath} is not valid JSON: ${(err as Error).message}`);
  }
  const stateRemoval: FileChange = {
    path: statePath,
    before: stateText,
    after: undefined,
    mode: 0o600,
    what: "install record",
  };
  if (before === undefined)
    return [{ path, before, after: before, mode: 0o644, what: "does not exist" }, stateRemoval];
  const now = withoutEntry(parseJson(before, path));
  const original = state.original === null ? {} : parseJson(state.original, `${statePath} (original)`);
  let after: string | undefined;
  let what: string;
  if (canonicalJson(now) === canonicalJson(original)) {
    after = state.original ?? undefined;
    what = state.original === null ? "created by tskata install" : "restored as it was before install";
  } else {
    after = `${JSON.stringify(now, null, 2)}\n`;
    what = `runtimes.${DOCKER_RUNTIME_NAME} removed (the file changed since install, so it is rewritten, not restored)`;
  }
  return [{ path, before, after, mode: 0o644, what }, stateRemoval];
}
