/**
 * `npm run build:installer`: the cluster installer image (docs/deploy.md), an OCI image layout
 * tar at build/installer/tskata-installer.tar named localhost/tskata-installer:<version>, built
 * from this checkout's artifacts (npm run build, npm run build:guest) with no registry.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { packageRoot } from "../../shim/config/paths.js";
import { buildBusyboxImage } from "../demo/busybox-image.js";
import { CliError } from "../errors.js";
import { DEPLOY_SCRIPT, resolvePayload, writePayload } from "./payload.js";

export const INSTALLER_REPOSITORY = "localhost/tskata-installer";

export interface InstallerImage {
  tar: string;
  name: string;
}

export function installerImageName(packageDir: string): string {
  const { version } = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as {
    version: string;
  };
  return `${INSTALLER_REPOSITORY}:${version}`;
}

export async function buildInstallerImage(packageDir: string, outDir: string): Promise<InstallerImage> {
  const payload = await resolvePayload({
    packageDir,
    // from the source tree (tsc does not copy it into dist/)
    deployScript: join(packageDir, "cli/installer/tskata-deploy.sh"),
  });
  mkdirSync(outDir, { recursive: true });
  const name = installerImageName(packageDir);
  const tar = buildBusyboxImage(
    join(outDir, "tskata-installer.tar"),
    name,
    { entrypoint: [DEPLOY_SCRIPT], cmd: ["install"] },
    (rootfs) => writePayload(rootfs, payload),
  );
  return { tar, name };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const packageDir = packageRoot();
  if (!packageDir) throw new CliError("CLI_USAGE", "cannot find the tskata package root above this script");
  const started = Date.now();
  const image = await buildInstallerImage(packageDir, join(packageDir, "build/installer"));
  console.log(`${image.name}: ${image.tar} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
