/**
 * `tskata check [--json] [--config PATH] [--containerd-config PATH]`: host readiness, one verdict
 * per line (ok / warn / FAIL) with what to install or change. Exit status 1 when something
 * required (configuration, QEMU, guest image, shared fs, agent channel) is missing.
 */
import { parseOptions } from "../args.js";
import { formatText, makeReport } from "../check/report.js";
import { DEFAULT_CONTAINERD_CONFIG, type HostCheckOptions, runHostChecks } from "../check/run-checks.js";
import { readEffectiveConfig } from "../config/effective-config.js";

export interface CheckDeps {
  write?: (text: string) => void;
  probeKvm?: HostCheckOptions["probeKvm"];
  env?: NodeJS.ProcessEnv;
}

export async function check(args: readonly string[], deps: CheckDeps = {}): Promise<number> {
  const values = parseOptions("check", args, {
    json: { type: "boolean", default: false },
    config: { type: "string" },
    "containerd-config": { type: "string", default: DEFAULT_CONTAINERD_CONFIG },
  });
  const write = deps.write ?? ((t: string) => process.stdout.write(t));
  const effective = readEffectiveConfig(values.config, deps.env ? { env: deps.env } : {});
  const checks = await runHostChecks(effective, {
    containerdConfig: values["containerd-config"] ?? DEFAULT_CONTAINERD_CONFIG,
    ...(deps.probeKvm ? { probeKvm: deps.probeKvm } : {}),
  });
  const report = makeReport(checks, effective.file);
  write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatText(report));
  return report.ready ? 0 : 1;
}
