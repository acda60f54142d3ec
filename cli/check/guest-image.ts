/**
 * The guest kernel and root image (or initrd) the configuration boots: present, and, when they
 * come from a guest image build, matching its manifest.json (size and sha256). Required.
 */
import { basename, dirname, join } from "node:path";
import type { Manifest } from "../../guest-image/manifest.js";
import { type CheckResult, fail, ok, warn } from "./check-result.js";

export interface GuestImageInputs {
  kernel: string | undefined;
  image: string | undefined;
  initrd: string | undefined;
  /** manifest.json of the guest image directory the defaults come from. */
  manifestPath: string;
  readManifest: (path: string) => Promise<Manifest | undefined>;
  exists: (path: string) => boolean;
  describe: (path: string) => Promise<{ size: number; sha256: string }>;
}

const REBUILD =
  "npm run build:guest (source checkout) or reinstall /usr/share/tskata/guest, or fix hypervisor.kernel/image/initrd";

export async function checkGuestImage(inputs: GuestImageInputs): Promise<CheckResult> {
  const booted = [
    ["kernel", inputs.kernel],
    ["image", inputs.image],
    ["initrd", inputs.initrd],
  ].filter((e): e is [string, string] => typeof e[1] === "string" && e[1] !== "");
  if (!inputs.kernel) return fail("guest-image", "no guest kernel configured", REBUILD);
  if (!inputs.image && !inputs.initrd)
    return fail("guest-image", "neither a root image nor an initrd is configured", REBUILD);
  const absent = booted.filter(([, p]) => !inputs.exists(p));
  if (absent.length > 0)
    return fail("guest-image", `missing: ${absent.map(([k, p]) => `${k} ${p}`).join(", ")}`, REBUILD);

  const manifest = await inputs.readManifest(inputs.manifestPath);
  if (!manifest)
    return warn(
      "guest-image",
      `${booted.map(([k, p]) => `${k} ${p}`).join(", ")} present; no manifest at ${inputs.manifestPath} to verify them against`,
      REBUILD,
    );
  const dir = dirname(inputs.manifestPath);
  const byPath = new Map(Object.values(manifest.artifacts).map((a) => [join(dir, a.file), a]));
  const verified: string[] = [];
  const foreign: string[] = [];
  const mismatched: string[] = [];
  for (const [key, path] of booted) {
    const artifact = byPath.get(path);
    if (!artifact) {
      foreign.push(`${key} ${path}`);
      continue;
    }
    const actual = await inputs.describe(path);
    if (actual.size !== artifact.size || actual.sha256 !== artifact.sha256)
      mismatched.push(
        `${path} (size ${actual.size}, sha256 ${actual.sha256.slice(0, 12)}…; manifest says size ${artifact.size}, sha256 ${artifact.sha256.slice(0, 12)}…)`,
      );
    else verified.push(basename(path));
  }
  if (mismatched.length > 0)
    return fail("guest-image", `does not match ${inputs.manifestPath}: ${mismatched.join("; ")}`, REBUILD);
  const parts = [
    verified.length > 0
      ? `${verified.join(", ")} match ${inputs.manifestPath} (size, sha256; kernel ${manifest.kernel.release}, built ${manifest.builtAt})`
      : "",
    foreign.length > 0 ? `not from that manifest (unverified): ${foreign.join(", ")}` : "",
  ].filter(Boolean);
  return ok("guest-image", parts.join("; "));
}
