/** TSKATA_CONF_FILE names the configuration for the shim and every command: explicit path > env > lookup. */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  CONF_FILE_ENV,
  defaultConfigCandidates,
  findConfigFile,
  loadConfig,
} from "../../../shim/config/load.js";

let dir: string;
let fromEnv: string;
let explicit: string;
const saved = process.env[CONF_FILE_ENV];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tskata-conf-env-"));
  fromEnv = join(dir, "from-env.toml");
  explicit = join(dir, "explicit.toml");
  writeFileSync(fromEnv, "[hypervisor]\nvcpus = 3\n");
  writeFileSync(explicit, "[hypervisor]\nvcpus = 2\n");
});
afterEach(() => {
  if (saved === undefined) delete process.env[CONF_FILE_ENV];
  else process.env[CONF_FILE_ENV] = saved;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("TSKATA_CONF_FILE", () => {
  it("is the file found when set, ahead of the default lookup", () => {
    expect(findConfigFile({ [CONF_FILE_ENV]: fromEnv })).toBe(fromEnv);
    expect(findConfigFile({})).toBe(defaultConfigCandidates().find((p) => existsSync(p)));
    expect(findConfigFile({})).not.toBe(fromEnv);
  });

  it("is what loadConfig() reads with no explicit path", () => {
    process.env[CONF_FILE_ENV] = fromEnv;
    const config = loadConfig();
    expect(config.source).toBe(fromEnv);
    expect(config.hypervisor.vcpus).toBe(3);
  });

  it("loses to an explicit path", () => {
    process.env[CONF_FILE_ENV] = fromEnv;
    const config = loadConfig(explicit);
    expect(config.source).toBe(explicit);
    expect(config.hypervisor.vcpus).toBe(2);
  });

  it("fails naming the file when it does not exist, instead of silently using another", () => {
    const missing = join(dir, "typo.toml");
    process.env[CONF_FILE_ENV] = missing;
    expect(() => loadConfig()).toThrow(new RegExp(`cannot read ${missing}: ENOENT`));
  });
});
