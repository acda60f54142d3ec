/**
 * containerd's config.toml holds a CRI runtime handler with runtime_type io.containerd.tskata.v2.
 * A warning when missing (`ctr run --runtime io.containerd.tskata.v2` works without it).
 */
import { parse } from "smol-toml";
import { runtimeHandlers, TSKATA_RUNTIME_TYPE } from "../install/containerd-handlers.js";
import { type CheckResult, ok, warn } from "./check-result.js";

export interface ContainerdConfigInputs {
  path: string;
  /** Reads the file; undefined when it does not exist. */
  read: (path: string) => string | undefined;
}

const REMEDY = "tskata install --containerd, then restart containerd";

export function checkContainerdConfig(inputs: ContainerdConfigInputs): CheckResult {
  const text = inputs.read(inputs.path);
  if (text === undefined)
    return warn(
      "containerd-config",
      `${inputs.path} does not exist: no CRI runtime handler for tskata`,
      REMEDY,
    );
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    return warn(
      "containerd-config",
      `${inputs.path} is not valid TOML: ${(err as Error).message.split("\n")[0]}`,
      "fix the file",
    );
  }
  const ours = runtimeHandlers(doc).filter((h) => h.runtimeType === TSKATA_RUNTIME_TYPE);
  if (ours.length === 0)
    return warn(
      "containerd-config",
      `${inputs.path} has no runtime handler with runtime_type = "${TSKATA_RUNTIME_TYPE}"`,
      REMEDY,
    );
  const list = ours
    .map((h) => `"${h.name}"${h.configPath ? ` (ConfigPath ${h.configPath})` : ""}`)
    .join(", ");
  return ok("containerd-config", `${inputs.path}: runtime handler ${list}`);
}
