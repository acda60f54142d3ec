import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { GuestImageError } from "./errors.js";
import { run } from "./exec.js";

export interface DebPackage {
  name: string;
  version: string;
}

/** The concrete kernel image package the meta package depends on (e.g. linux-image-6.1.0-56-cloud-amd64). */
export async function resolveKernelPackage(metaPackage: string): Promise<string> {
  const { stdout } = await run("apt-cache", ["depends", metaPackage]);
  const match = /Depends:\s*(linux-image-\S+)/.exec(stdout);
  if (!match) {
    throw new GuestImageError(
      "ERR_GUEST_PACKAGE_UNRESOLVED",
      `apt-cache depends ${metaPackage} names no linux-image package (run apt-get update?)`,
    );
  }
  return match[1]!;
}

/** Parses `apt-cache policy A B …` output into candidate versions. */
export function parseAptPolicy(output: string): Map<string, string> {
  const versions = new Map<string, string>();
  let current: string | undefined;
  for (const line of output.split("\n")) {
    const header = /^(\S+):$/.exec(line);
    if (header) {
      current = header[1];
      continue;
    }
    const candidate = /^\s+Candidate:\s*(\S+)/.exec(line);
    if (candidate && current && candidate[1] !== "(none)") versions.set(current, candidate[1]!);
  }
  return versions;
}

/** Resolves the candidate version of every package; fails naming those apt does not know. */
export async function resolveVersions(names: readonly string[]): Promise<DebPackage[]> {
  const { stdout } = await run("apt-cache", ["policy", ...names]);
  const versions = parseAptPolicy(stdout);
  const missing = names.filter((n) => !versions.has(n));
  if (missing.length > 0) {
    throw new GuestImageError(
      "ERR_GUEST_PACKAGE_UNRESOLVED",
      `apt has no candidate for ${missing.join(", ")} (run apt-get update?)`,
    );
  }
  return names.map((name) => ({ name, version: versions.get(name)! }));
}

/** The file name prefix apt-get download uses: name_version_ with ':' escaped. */
export function debFilePrefix(pkg: DebPackage): string {
  return `${pkg.name}_${pkg.version.replaceAll(":", "%3a")}_`;
}

/**
 * Downloads the exact versions into `dir` (already present files are kept) and returns the path
 * of each package's .deb, in the order given.
 */
export async function downloadDebs(pkgs: readonly DebPackage[], dir: string): Promise<string[]> {
  const findAll = async (): Promise<(string | undefined)[]> => {
    const files = await readdir(dir);
    return pkgs.map((p) => files.find((f) => f.startsWith(debFilePrefix(p)) && f.endsWith(".deb")));
  };
  let found = await findAll();
  const wanted = pkgs.filter((_, i) => found[i] === undefined).map((p) => `${p.name}=${p.version}`);
  if (wanted.length > 0) {
    await run("apt-get", ["-o", "APT::Sandbox::User=root", "download", ...wanted], { cwd: dir });
    found = await findAll();
  }
  return pkgs.map((p, i) => {
    const file = found[i];
    if (!file) {
      throw new GuestImageError(
        "ERR_GUEST_DEB_MISSING",
        `apt-get download left no .deb for ${p.name}=${p.version}`,
      );
    }
    return join(dir, file);
  });
}

/** Unpacks a .deb's data into `root` (dpkg-deb -x). */
export async function extractDeb(deb: string, root: string): Promise<void> {
  await run("dpkg-deb", ["-x", deb, root]);
}
