/**
 * `tskata env [--config PATH]`: the effective configuration as JSON (see cli/env/env.schema.json).
 * Exit status 1 when the configuration is invalid (the document says why), else 0.
 */
import { parseOptions } from "../args.js";
import { readEffectiveConfig } from "../config/effective-config.js";
import { envDocument } from "../env/env-document.js";
import { tskataVersion } from "../host/package-version.js";
import { qemuVersion } from "../host/qemu-version.js";

export interface EnvDeps {
  write?: (text: string) => void;
  env?: NodeJS.ProcessEnv;
}

export async function env(args: readonly string[], deps: EnvDeps = {}): Promise<number> {
  const values = parseOptions("env", args, { config: { type: "string" } });
  const write = deps.write ?? ((t: string) => process.stdout.write(t));
  const effective = readEffectiveConfig(values.config, deps.env ? { env: deps.env } : {});
  const doc = await envDocument({
    effective,
    tskataVersion: tskataVersion(),
    qemuVersion: (p) => qemuVersion(p),
  });
  write(`${JSON.stringify(doc, null, 2)}\n`);
  return doc.valid ? 0 : 1;
}
