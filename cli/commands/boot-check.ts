/**
 * `tskata boot-check`: boots one sandbox VM from the configured guest image, asks the agent for
 * Health and Version, powers it off and checks nothing is left of it. Prints the accelerator,
 * the guest kernel and the timings: the quickest proof that a host can run tskata sandboxes.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { loadConfig } from "../../shim/config/load.js";
import { Sandbox, standaloneSpec } from "../../shim/sandbox/sandbox.js";

export async function bootCheck(args: readonly string[]): Promise<number> {
  const configPath = args[0];
  const config = loadConfig(configPath);
  const log = pino({ level: process.env["TSKATA_LOG_LEVEL"] ?? "warn" }, pino.destination(2));
  const id = `boot-check-${process.pid}`;
  const t0 = performance.now();
  const sandbox = await Sandbox.start({ spec: standaloneSpec(id, "boot-check"), config, log });
  try {
    const version = await sandbox.client.health.version({}, { timeoutMs: 10_000 });
    const out = [
      `sandbox ${id}: VM started in ${sandbox.timings.vmStartMs.toFixed(0)} ms, agent ready in ${sandbox.timings.agentReadyMs.toFixed(0)} ms (accel: ${config.hypervisor.accel} setting)`,
      `guest kernel: ${version.kernelRelease}`,
      `agent: ${version.agentVersion} (${version.apiVersion}), node ${version.runtimeVersion}, ${version.executorVersion}`,
      `guest uptime at answer: ${version.uptimeSeconds.toFixed(2)} s`,
    ];
    process.stdout.write(`${out.join("\n")}\n`);
  } finally {
    const t1 = performance.now();
    const exit = await sandbox.stop();
    process.stdout.write(
      `stopped in ${(performance.now() - t1).toFixed(0)} ms (${exit.reason}); total ${(performance.now() - t0).toFixed(0)} ms\n`,
    );
  }
  const leftover = join(config.runtime.stateDir, "sandboxes", id);
  if (existsSync(leftover)) {
    process.stderr.write(`tskata boot-check: ${leftover} was left behind\n`);
    return 1;
  }
  return 0;
}
