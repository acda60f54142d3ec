/**
 * What `tskata install` / `tskata uninstall` change, planned before anything is touched: the
 * shim and CLI wrappers in <root>/usr/local/bin, the containerd handler block, Docker's runtime
 * entry. Paths in the installed files are as seen on the target (without --root).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { CliError } from "../errors.js";
import { addHandler, removeHandler } from "./containerd-block.js";
import { planDockerInstall, planDockerRemoval } from "./docker-daemon.js";
import type { FileChange } from "./file-change.js";
import { readText } from "./read-text.js";
import { planWrapperInstall, planWrapperRemoval, type Wrapper } from "./wrappers.js";

export interface InstallOptions {
  /** Filesystem root everything is written under ("/" for this host). */
  root: string;
  containerd: boolean;
  docker: boolean;
  /** containerd's config, as seen on the target. */
  containerdConfig: string;
  /** Docker's daemon.json, as seen on the target. */
  dockerDaemonJson: string;
  /** The tskata configuration the shim is given (runtime options ConfigPath), as seen on the target. */
  configPath: string;
  /** Directory the wrappers go in, as seen on the target. */
  binDir: string;
  /** This package (holding dist/); the wrappers run its entry points. */
  packageDir: string;
  /** The Node binary the wrappers run. */
  node: string;
}

export interface Plan {
  changes: FileChange[];
  /** Warnings and next steps to print after the changes. */
  notes: string[];
}

export const SHIM_NAME = "containerd-shim-tskata-v2";
export const CLI_NAME = "tskata";
export const DOCKER_RUNTIME_BINARY = "tskata-runtime";

const onRoot = (opts: InstallOptions, path: string): string => join(opts.root, path);

function wrappers(opts: InstallOptions): Wrapper[] {
  return [
    { name: SHIM_NAME, script: "dist/shim/main.js" },
    { name: CLI_NAME, script: "dist/cli/main.js" },
    { name: DOCKER_RUNTIME_BINARY, script: "dist/cli/runtime/main.js" },
  ].map((w) => ({
    path: onRoot(opts, join(opts.binDir, w.name)),
    script: join(opts.packageDir, w.script),
    node: opts.node,
  }));
}

export function planInstall(opts: InstallOptions): Plan {
  const ws = wrappers(opts);
  const unbuilt = ws.filter((w) => !existsSync(w.script)).map((w) => w.script);
  if (unbuilt.length > 0)
    throw new CliError(
      "CLI_INSTALL_NOT_BUILT",
      `${unbuilt.join(", ")} not found: run \`npm run build\` in ${opts.packageDir} first`,
    );
  const changes = ws.map(planWrapperInstall);
  const notes: string[] = [];
  if (opts.containerd) {
    const path = onRoot(opts, opts.containerdConfig);
    const before = readText(path);
    const merged = addHandler(before, path, { configPath: opts.configPath });
    changes.push({ path, before, after: merged.text, mode: 0o644, what: merged.what });
    if (merged.text !== before)
      notes.push("restart containerd to load the runtime handler (systemctl restart containerd)");
  }
  if (opts.docker) {
    const runtime = join(opts.binDir, DOCKER_RUNTIME_BINARY);
    changes.push(...planDockerInstall(onRoot(opts, opts.dockerDaemonJson), runtime));
    notes.push("restart dockerd to load the runtime (systemctl restart docker)");
  }
  return { changes, notes };
}

export function planUninstall(opts: InstallOptions): Plan {
  const changes = wrappers(opts).map(planWrapperRemoval);
  const notes: string[] = [];
  if (opts.containerd) {
    const path = onRoot(opts, opts.containerdConfig);
    const before = readText(path);
    const removed = removeHandler(before);
    changes.push({ path, before, after: removed.text, mode: 0o644, what: removed.what });
    if (removed.text !== before)
      notes.push("restart containerd to drop the runtime handler (systemctl restart containerd)");
  }
  if (opts.docker) changes.push(...planDockerRemoval(onRoot(opts, opts.dockerDaemonJson)));
  return { changes, notes };
}
