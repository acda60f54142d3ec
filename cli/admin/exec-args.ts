/**
 * The command line of `tskata exec [OPTIONS] SANDBOX [--] [CMD [ARG...]]`: options come before
 * SANDBOX; everything after it is the guest's command line, untouched (so `uname -a` keeps its -a).
 */
import { CliError } from "../errors.js";

export interface ExecArgs {
  sandbox: string;
  command: string[];
  config: string | undefined;
  stateDir: string | undefined;
  /** --tty / --no-tty; undefined: decided by whether stdin and stdout are terminals. */
  tty: boolean | undefined;
}

const VALUE_OPTIONS = new Set(["--config", "--state-dir"]);

export function parseExecArgs(args: readonly string[]): ExecArgs {
  const out: Partial<ExecArgs> & { tty: boolean | undefined } = { tty: undefined };
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("-")) break;
    const [name, inline] = arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    if (name === "--tty" || name === "-t") out.tty = true;
    else if (name === "--no-tty" || name === "-T") out.tty = false;
    else if (VALUE_OPTIONS.has(name)) {
      const value = inline ?? args[++i];
      if (value === undefined) throw new CliError("CLI_USAGE", `tskata exec: ${name} needs a value`);
      if (name === "--config") out.config = value;
      else out.stateDir = value;
    } else throw new CliError("CLI_USAGE", `tskata exec: unknown option ${JSON.stringify(arg)}`);
  }
  const sandbox = args[i];
  if (sandbox === undefined) throw new CliError("CLI_USAGE", "tskata exec: SANDBOX is required");
  let command = args.slice(i + 1);
  if (command[0] === "--") command = command.slice(1);
  return { sandbox, command, config: out.config, stateDir: out.stateDir, tty: out.tty };
}
