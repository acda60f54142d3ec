/**
 * The executables `tskata install` puts on PATH: small sh wrappers running this package's built
 * entry points with this Node (containerd's service PATH may hold no `node`). A marker line says
 * they are ours, so uninstall removes only what install made and install refuses to overwrite
 * anything else.
 */
import { CliError } from "../errors.js";
import type { FileChange } from "./file-change.js";
import { readText } from "./read-text.js";

export const WRAPPER_MARKER = "# installed by `tskata install`; `tskata uninstall` removes it";

export interface Wrapper {
  /** Host path of the wrapper (under --root). */
  path: string;
  /** The script it runs, as seen on the target. */
  script: string;
  node: string;
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function wrapperText(w: Wrapper): string {
  return `#!/bin/sh\n${WRAPPER_MARKER}\nexec ${quote(w.node)} ${quote(w.script)} "$@"\n`;
}

export function isOurs(text: string): boolean {
  return text.split("\n")[1] === WRAPPER_MARKER;
}

export function planWrapperInstall(w: Wrapper): FileChange {
  const before = readText(w.path);
  if (before !== undefined && !isOurs(before))
    throw new CliError(
      "CLI_INSTALL_CONFLICT",
      `${w.path} exists and was not installed by tskata; remove it or choose another --root`,
    );
  return { path: w.path, before, after: wrapperText(w), mode: 0o755, what: `runs ${w.script}` };
}

export function planWrapperRemoval(w: Wrapper): FileChange {
  const before = readText(w.path);
  if (before === undefined || !isOurs(before))
    return {
      path: w.path,
      before,
      after: before,
      mode: 0o755,
      what: before === undefined ? "not installed" : "not installed by tskata, left alone",
    };
  return { path: w.path, before, after: undefined, mode: 0o755, what: "installed by tskata" };
}
