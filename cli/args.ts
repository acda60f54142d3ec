/** Command-line option parsing shared by the commands: strict, with usage errors as CliError. */
import { type ParseArgsConfig, parseArgs } from "node:util";
import { CliError } from "./errors.js";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Parses `args` against `options`; no positionals are accepted. Throws CliError CLI_USAGE. */
export function parseOptions<O extends Options>(command: string, args: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new CliError("CLI_USAGE", `tskata ${command}: ${(err as Error).message}`);
  }
}
