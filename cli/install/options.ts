/** Options shared by `tskata install` and `tskata uninstall`. */
import { existsSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { packageRoot } from "../../shim/config/paths.js";
import { parseOptions } from "../args.js";
import { CliError } from "../errors.js";
import type { InstallOptions } from "./plan.js";

export interface ParsedInstallArgs {
  options: InstallOptions;
  dryRun: boolean;
}

/**
 * Neither --containerd nor --docker: install does containerd; uninstall undoes both (it only
 * removes what install recorded, so looking at both is safe).
 */
export function parseInstallArgs(
  command: "install" | "uninstall",
  args: readonly string[],
): ParsedInstallArgs {
  const v = parseOptions(command, args, {
    containerd: { type: "boolean", default: false },
    docker: { type: "boolean", default: false },
    "dry-run": { type: "boolean", default: false },
    root: { type: "string", default: "/" },
    "config-path": { type: "string" },
    "containerd-config": { type: "string", default: "/etc/containerd/config.toml" },
    "package-dir": { type: "string" },
    node: { type: "string" },
  });
  const root = resolve(v.root ?? "/");
  if (!existsSync(root)) throw new CliError("CLI_USAGE", `tskata ${command}: --root ${root} does not exist`);
  const packageDir = resolve(v["package-dir"] ?? packageRoot() ?? ".");
  const containerdConfig = v["containerd-config"] ?? "/etc/containerd/config.toml";
  if (!isAbsolute(containerdConfig))
    throw new CliError(
      "CLI_USAGE",
      `tskata ${command}: --containerd-config must be an absolute path (on the target), got ${containerdConfig}`,
    );
  const etcConfig = "/etc/tskata/configuration.toml";
  const configPath =
    v["config-path"] ??
    (existsSync(join(root, etcConfig)) ? etcConfig : join(packageDir, "configuration.toml"));
  if (!isAbsolute(configPath))
    throw new CliError(
      "CLI_USAGE",
      `tskata ${command}: --config-path must be an absolute path (on the target), got ${configPath}`,
    );
  const node = v.node ?? process.execPath;
  if (!isAbsolute(node))
    throw new CliError(
      "CLI_USAGE",
      `tskata ${command}: --node must be an absolute path (on the target), got ${node}`,
    );
  const neither = !v.containerd && !v.docker;
  return {
    dryRun: v["dry-run"] ?? false,
    options: {
      root,
      containerd: v.containerd === true || neither,
      docker: v.docker === true || (neither && command === "uninstall"),
      containerdConfig,
      dockerDaemonJson: "/etc/docker/daemon.json",
      configPath,
      binDir: "/usr/local/bin",
      packageDir,
      node,
    },
  };
}
