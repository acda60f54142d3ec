/** The committed generated code is exactly what `npm run gen` produces from protocol/proto. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "../../..");

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe("generated protobuf code", () => {
  it("is reproducible: regenerating from the .proto files gives the committed files byte for byte", () => {
    const out = mkdtempSync(join(tmpdir(), "tskata-gen-"));
    try {
      execFileSync(join(root, "node_modules/.bin/buf"), ["generate", "-o", out], {
        cwd: root,
        env: { ...process.env, PATH: `${join(root, "node_modules/.bin")}:${process.env.PATH}` },
      });
      const fresh = join(out, "protocol/generated");
      const committed = join(root, "protocol/generated");
      expect(files(fresh)).toEqual(files(committed));
      for (const f of files(fresh)) {
        expect(readFileSync(join(fresh, f), "utf8"), f).toBe(readFileSync(join(committed, f), "utf8"));
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});
