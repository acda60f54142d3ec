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

/**
 * Parses options and positionals (options may come before or after them; `--` ends options, so a
 * command line for the guest may follow). Throws CliError CLI_USAGE when the count is off.
 */
export function parsePositionals<O extends Options>(
  command: string,
  args: readonly string[],
  options: O,
  count: { min: number; max?: number },
) {
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: true }>
  >;
  try {
    parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new CliError("CLI_USAGE", `tskata ${command}: ${(err as Error).message}`);
  }
  const n = parsed.positionals.length;
  if (n < count.min || (count.max !== undefined && n > count.max))
    throw new CliError(
      "CLI_USAGE",
      `tskata ${command}: expected ${count.max === count.min ? count.min : `at least ${count.min}`} argument(s), got ${n}`,
    );
  return { values: parsed.values, positionals: parsed.positionals };
}
