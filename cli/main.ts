#!/usr/bin/env node
/**
 * tskata: the operator's command line. Each command lives in cli/commands/; this entry only
 * dispatches.
 */
import { readFileSync } from "node:fs";
import { bootCheck } from "./commands/boot-check.js";
import { demo } from "./commands/demo.js";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

const USAGE = `usage: tskata <command>

commands:
  demo                 run a container through a private containerd in its own VM
  boot-check [CONFIG]  boot one sandbox VM, call its agent (Health, Version), stop it
  version              print the tskata version
  help                 print this help
`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "demo":
      return demo();
    case "boot-check":
      return bootCheck(rest);
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
  const code = (err as { code?: string }).code;
  process.stderr.write(`tskata: ${code ? `${code}: ` : ""}${(err as Error).message}\n`);
  process.exitCode = 1;
}
