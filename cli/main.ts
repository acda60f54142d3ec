#!/usr/bin/env node
/**
 * tskata: the operator's command line. Each command lives in cli/commands/; this entry only
 * dispatches.
 */
import { readFileSync } from "node:fs";
import { bootCheck } from "./commands/boot-check.js";
import { check } from "./commands/check.js";
import { demo } from "./commands/demo.js";
import { env } from "./commands/env.js";
import { exec } from "./commands/exec.js";
import { inspect } from "./commands/inspect.js";
import { install } from "./commands/install.js";
import { list } from "./commands/list.js";
import { metrics } from "./commands/metrics.js";
import { pool } from "./commands/pool.js";
import { uninstall } from "./commands/uninstall.js";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

const USAGE = `usage: tskata <command>

commands:
  check [--json] [--config PATH] [--containerd-config PATH]
                       host readiness: one verdict per line (ok / warn / FAIL) and what to
                       install or change; exit status 1 when something required is missing
  env [--config PATH]  the effective configuration (file, every key and its source) and
                       versions, as JSON (cli/env/env.schema.json)
  install [--containerd] [--docker] [--dry-run] [--root DIR] [--config-path PATH]
          [--containerd-config PATH] [--package-dir DIR] [--node PATH]
                       put containerd-shim-tskata-v2 and tskata in /usr/local/bin and register
                       the runtime with containerd (default) and/or Docker
  uninstall [same options]
                       undo install, restoring changed files byte for byte
  list [--json] [--config PATH | --state-dir DIR]
                       running sandboxes: pod, containers, accel, uptime, host PSS (from each
                       shim's admin socket; a shim that does not answer is listed as such)
  inspect SANDBOX [--config PATH | --state-dir DIR]
                       one sandbox as JSON: containers, execs, QEMU/virtiofsd pids, accel,
                       uptime, size, host PSS, guest memory, agent round-trip time
  exec [--tty|--no-tty] [--config PATH | --state-dir DIR] SANDBOX [CMD...]
                       a shell (or CMD) in the sandbox's guest, for debugging; needs
                       [agent] debug_exec = true in the sandbox's configuration
  metrics [--config PATH | --state-dir DIR]
                       every sandbox's metrics in one Prometheus page (label sandbox_id)
  pool serve [--config PATH]
                       run the warm VM pool daemon ([factory] in the configuration)
  pool status [--config PATH] [--json]
                       the pool's idle, leased and adopted VMs and their memory (PSS)
  demo                 run a container through a private containerd in its own VM
  boot-check [CONFIG]  boot one sandbox VM, call its agent (Health, Version), stop it
  version              print the tskata version
  help                 print this help

The configuration file: --config PATH, else $TSKATA_CONF_FILE, else
/etc/tskata/configuration.toml, /usr/share/tskata/configuration.toml, the package's own.
`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "demo":
      return demo();
    case "boot-check":
      return bootCheck(rest);
    case "check":
      return check(rest);
    case "env":
      return env(rest);
    case "exec":
      return exec(rest);
    case "inspect":
      return inspect(rest);
    case "install":
      return install(rest);
    case "list":
      return list(rest);
    case "metrics":
      return metrics(rest);
    case "pool":
      return pool(rest);
    case "uninstall":
      return uninstall(rest);
    case "version":
      process.stdout.write(`tskata ${pkg.version}\n`);
      return 0;
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`tskata: unknown command ${JSON.stringify(command)}\n${USAGE}`);
      return 2;
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  // a string code is the CLI's own (CLI_…); a shim's refusal (a ttrpc status) leads with its code
  const raw = (err as { code?: unknown }).code;
  const code = typeof raw === "string" ? raw : undefined;
  process.stderr.write(`tskata: ${code ? `${code}: ` : ""}${(err as Error).message}\n`);
  process.exitCode = code === "CLI_USAGE" ? 2 : 1;
}
