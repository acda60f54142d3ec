/**
 * `tskata pool serve [--config PATH]`: run the warm VM pool daemon (shim/pool/, docs/pool.md)
 * until SIGTERM/SIGINT. `tskata pool status [--config PATH] [--json]`: the pool's idle, leased
 * and adopted VMs with their memory.
 */
import pino from "pino";
import { loadConfig } from "../../shim/config/load.js";
import { connectPool } from "../../shim/pool/pool-client.js";
import { startPoolDaemon } from "../../shim/pool/pool-daemon.js";
import { parseOptions } from "../args.js";
import { CliError } from "../errors.js";

export async function pool(args: readonly string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "serve") return serve(rest);
  if (sub === "status") return status(rest);
  throw new CliError(
    "CLI_USAGE",
    `tskata pool: expected "serve" or "status", got ${JSON.stringify(sub ?? "")}`,
  );
}

async function serve(args: readonly string[]): Promise<number> {
  const values = parseOptions("pool serve", args, { config: { type: "string" } });
  const config = loadConfig(values.config);
  const log = pino(
    { level: process.env["TSKATA_LOG_LEVEL"] ?? config.runtime.logLevel, base: { pool: process.pid } },
    pino.destination(2),
  );
  const daemon = await startPoolDaemon(config, log);
  await new Promise<void>((resolve) => {
    const stop = () => void daemon.stop().then(resolve);
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  return 0;
}

async function status(args: readonly string[]): Promise<number> {
  const values = parseOptions("pool status", args, { config: { type: "string" }, json: { type: "boolean" } });
  const config = loadConfig(values.config);
  const client = connectPool(config.factory.socketPath);
  try {
    const s = await client.api.status({}, { timeoutMs: 5000 });
    const mib = (kib: bigint | number) => (Number(kib) / 1024).toFixed(1);
    if (values.json) {
      process.stdout.write(
        `${JSON.stringify(s, (_, v: unknown) => (typeof v === "bigint" ? Number(v) : v), 2)}\n`,
      );
      return 0;
    }
    const lines = [
      `pool ${config.factory.socketPath} (pid ${s.daemonPid}, ${mib(s.daemonPssKib)} MiB PSS): ${s.poolSize} idle wanted, VMs of ${s.shape?.memoryMib} MiB / ${s.shape?.vcpus} vCPU`,
      `host MemAvailable ${s.hostMemAvailableMib} MiB (floor ${s.minHostAvailableMib} MiB); refill: ${s.refill}`,
      "ID                STATE     QEMU     VIRTIOFSD  PSS MiB  AGE s  OWNER",
      ...s.vms.map(
        (v) =>
          `${v.id.padEnd(17)} ${v.state.padEnd(9)} ${String(v.qemuPid).padEnd(8)} ${String(v.virtiofsdPid).padEnd(10)} ${mib(v.pssKib).padStart(7)}  ${(Number(v.ageMs) / 1000).toFixed(0).padStart(5)}  ${v.owner}`,
      ),
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(
      `tskata pool status: no pool answers on ${config.factory.socketPath}: ${(err as Error).message}\n`,
    );
    return 1;
  } finally {
    client.close();
  }
}
