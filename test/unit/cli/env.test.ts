/** `tskata env`: its JSON validates against cli/env/env.schema.json and says where each value came from. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { env } from "../../../cli/commands/env.js";
import type { EnvDocument } from "../../../cli/env/env-document.js";
import { SCHEMA } from "../../../shim/config/schema.js";

const schema = JSON.parse(
  readFileSync(join(import.meta.dirname, "../../../cli/env/env.schema.json"), "utf8"),
);
const validate = new Ajv({ allErrors: true, allowUnionTypes: true }).compile(schema);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tskata-env-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runEnv(
  args: string[],
  vars: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; doc: EnvDocument }> {
  let out = "";
  const code = await env(args, { write: (t) => (out += t), env: vars });
  const doc = JSON.parse(out) as EnvDocument;
  expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
  return { code, doc };
}

describe("tskata env", () => {
  it("prints this host's effective configuration, every key and the versions, valid against the schema", async () => {
    const { code, doc } = await runEnv([]);
    expect(code).toBe(0);
    expect(doc.valid).toBe(true);
    const allKeys = Object.entries(SCHEMA).flatMap(([s, keys]) => Object.keys(keys).map((k) => `${s}.${k}`));
    expect(doc.keys.map((k) => k.key).sort()).toEqual(allKeys.sort());
    expect(doc.versions.node).toBe(process.version);
    expect(doc.lookup.length).toBeGreaterThan(0);
  });

  it("marks values from the file, from defaults and from TSKATA_GUEST_DIR by their source", async () => {
    const file = join(dir, "partial.toml");
    writeFileSync(file, "[hypervisor]\nmemory_mib = 1024\n");
    const guest = join(dir, "guest");
    const { code, doc } = await runEnv(["--config", file], { ...process.env, TSKATA_GUEST_DIR: guest });
    expect(doc.configFile).toBe(file);
    expect(doc.chosenBy).toBe("--config");
    const key = (k: string) => doc.keys.find((e) => e.key === k);
    expect(key("hypervisor.memory_mib")).toMatchObject({ value: 1024, source: "file" });
    expect(key("hypervisor.vcpus")).toMatchObject({ value: 1, source: "default" });
    expect(key("hypervisor.kernel")).toMatchObject({ value: join(guest, "vmlinuz"), source: "env" });
    // No kernel in that guest dir: invalid, and said so, still in the schema's shape.
    expect(code).toBe(1);
    expect(doc.valid).toBe(false);
    expect(doc.issues.map((i) => i.key)).toContain("hypervisor.kernel");
    expect(doc.versions.guestImage).toBeNull();
  });

  it("uses the file named by TSKATA_CONF_FILE and reports that rule", async () => {
    const file = join(dir, "named.toml");
    writeFileSync(file, '[runtime]\nlog_level = "debug"\n');
    const { doc } = await runEnv([], { ...process.env, TSKATA_CONF_FILE: file });
    expect(doc.configFile).toBe(file);
    expect(doc.chosenBy).toBe("env TSKATA_CONF_FILE");
    expect(doc.keys.find((k) => k.key === "runtime.log_level")).toMatchObject({
      value: "debug",
      source: "file",
    });
  });
});
