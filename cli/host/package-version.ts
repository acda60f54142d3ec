/** tskata's own version, from the package.json at the package root. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../../shim/config/paths.js";

export function tskataVersion(): string {
  const root = packageRoot();
  if (!root) return "0.0.0-unknown";
  return (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;
}
