/**
 * A configuration parser for unit tests of `configuration.toml` keys: a temporary directory holds
 * stand-in guest artifacts (kernel, root image) so validation finds them, created before the
 * file's tests and removed after. `issuesOf` returns the ConfigError's issues of a text that must
 * be refused.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { ConfigError } from "../../shim/config/errors.js";
import { parseConfig } from "../../shim/config/load.js";
import type { TskataConfig } from "../../shim/config/types.js";

export interface ConfigFixture {
  parse(text: string): TskataConfig;
  issuesOf(text: string): { key: string; message: string }[];
}

/** Registers the directory's beforeAll/afterAll; `kernelCmdline` is the image's suggested line. */
export function configFixture(kernelCmdline = ""): ConfigFixture {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "tskata-config-test-"));
    for (const f of ["vmlinuz", "rootfs.img"]) writeFileSync(join(dir, f), "x");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const parse = (text: string) =>
    parseConfig(text, {
      baseDir: dir,
      source: "t.toml",
      guestArtifacts: () => ({
        kernel: join(dir, "vmlinuz"),
        image: join(dir, "rootfs.img"),
        initrd: undefined,
        kernelCmdline,
        guestDir: { dir, reason: "env TSKATA_GUEST_DIR" },
      }),
    });
  return {
    parse,
    issuesOf(text) {
      try {
        parse(text);
      } catch (err) {
        if (err instanceof ConfigError) return [...err.issues];
        throw err;
      }
      throw new Error("expected a ConfigError");
    },
  };
}
