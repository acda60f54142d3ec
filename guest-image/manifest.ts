import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { basename } from "node:path";

/** Everything the guest image is made from; its hash decides whether to rebuild. */
export interface BuildInputs {
  format: string;
  kernelPackage: string;
  debs: { name: string; version: string }[];
  npm: Record<string, string>;
  /** sha256 of the bundled agent. */
  agentSha256: string;
  /** sha256 of every build source file, by path. */
  sources: Record<string, string>;
}

export interface Artifact {
  file: string;
  size: number;
  sha256: string;
}

export interface Manifest {
  schema: 1;
  inputsHash: string;
  builtAt: string;
  format: string;
  kernel: { package: string; version: string; release: string };
  debs: { name: string; version: string }[];
  npm: Record<string, string>;
  /** Suggested kernel command line for this image (the host adds its own tskata.* parameters). */
  kernelCmdline: string;
  artifacts: Record<string, Artifact>;
}

/** JSON with object keys sorted at every level, so equal values hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function inputsHash(inputs: BuildInputs): string {
  return sha256(canonicalJson(inputs));
}

export function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export async function describeArtifact(path: string): Promise<Artifact> {
  const [info, digest] = await Promise.all([stat(path), sha256File(path)]);
  return { file: basename(path), size: info.size, sha256: digest };
}

export async function readManifest(path: string): Promise<Manifest | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as Manifest;
  } catch {
    return undefined;
  }
}

/** True when the manifest was built from the same inputs and its artifacts are intact on disk. */
export async function isUpToDate(
  manifest: Manifest | undefined,
  hash: string,
  dir: string,
): Promise<boolean> {
  if (!manifest || manifest.inputsHash !== hash) return false;
  for (const artifact of Object.values(manifest.artifacts)) {
    try {
      const info = await stat(`${dir}/${artifact.file}`);
      if (info.size !== artifact.size) return false;
    } catch {
      return false;
    }
  }
  return true;
}
