/**
 * runc's command line (urfave/cli v1 conventions): global flags before the command, then the
 * command's flags, then its arguments. Flags take `-f`, `--flag`, `--flag=value` or
 * `--flag value`; `--` ends flags. Unknown commands and flags are usage errors with runc's text.
 */
import { RuntimeError, usage } from "./errors.js";

type FlagKind = "bool" | "string" | "list" | "int";
type FlagTable = Record<string, { kind: FlagKind; aliases?: string[] }>;

export const GLOBAL_FLAGS: FlagTable = {
  root: { kind: "string" },
  log: { kind: "string" },
  "log-format": { kind: "string" },
  debug: { kind: "bool" },
  "systemd-cgroup": { kind: "bool" },
  criu: { kind: "string" },
  rootless: { kind: "string" },
  version: { kind: "bool", aliases: ["v"] },
  help: { kind: "bool", aliases: ["h"] },
};

const CREATE_FLAGS: FlagTable = {
  bundle: { kind: "string", aliases: ["b"] },
  "pid-file": { kind: "string" },
  "console-socket": { kind: "string" },
  "no-pivot": { kind: "bool" },
  "no-new-keyring": { kind: "bool" },
  "preserve-fds": { kind: "int" },
};

/** Each command: its flags and how many positional arguments it takes ([min, max]). */
export const COMMANDS: Record<string, { flags: FlagTable; args: [number, number]; usage: string }> = {
  create: { flags: CREATE_FLAGS, args: [1, 1], usage: "create [command options] <container-id>" },
  run: {
    flags: { ...CREATE_FLAGS, detach: { kind: "bool", aliases: ["d"] } },
    args: [1, 1],
    usage: "run [command options] <container-id>",
  },
  start: { flags: {}, args: [1, 1], usage: "start <container-id>" },
  state: { flags: {}, args: [1, 1], usage: "state <container-id>" },
  kill: {
    flags: { all: { kind: "bool", aliases: ["a"] } },
    args: [1, 2],
    usage: "kill [command options] <container-id> [signal]",
  },
  delete: {
    flags: { force: { kind: "bool", aliases: ["f"] } },
    args: [1, 1],
    usage: "delete [command options] <container-id>",
  },
  exec: {
    flags: {
      process: { kind: "string", aliases: ["p"] },
      detach: { kind: "bool", aliases: ["d"] },
      "pid-file": { kind: "string" },
      "console-socket": { kind: "string" },
      tty: { kind: "bool", aliases: ["t"] },
      cwd: { kind: "string" },
      env: { kind: "list", aliases: ["e"] },
      user: { kind: "string", aliases: ["u"] },
      "additional-gids": { kind: "list", aliases: ["g"] },
      cap: { kind: "list", aliases: ["c"] },
      "no-new-privs": { kind: "bool" },
      "process-label": { kind: "string" },
      apparmor: { kind: "string" },
      "preserve-fds": { kind: "int" },
      cgroup: { kind: "list" },
    },
    args: [1, Number.POSITIVE_INFINITY],
    usage:
      "exec [command options] <container-id> <command> [command options]  || -p process.json <container-id>",
  },
  ps: {
    flags: { format: { kind: "string", aliases: ["f"] } },
    args: [1, Number.POSITIVE_INFINITY],
    usage: "ps [command options] <container-id> [ps options]",
  },
  pause: { flags: {}, args: [1, 1], usage: "pause <container-id>" },
  resume: { flags: {}, args: [1, 1], usage: "resume <container-id>" },
  update: {
    flags: {
      resources: { kind: "string", aliases: ["r"] },
      memory: { kind: "string" },
      "cpu-quota": { kind: "string" },
      "cpu-period": { kind: "string" },
      "cpu-shares": { kind: "string" },
      "pids-limit": { kind: "string" },
    },
    args: [1, 1],
    usage: "update [command options] <container-id>",
  },
  events: {
    flags: { stats: { kind: "bool" }, interval: { kind: "string" } },
    args: [1, 1],
    usage: "events [command options] <container-id>",
  },
  list: {
    flags: { format: { kind: "string", aliases: ["f"] }, quiet: { kind: "bool", aliases: ["q"] } },
    args: [0, 0],
    usage: "list [command options]",
  },
  spec: {
    flags: { bundle: { kind: "string", aliases: ["b"] }, rootless: { kind: "bool" } },
    args: [0, 0],
    usage: "spec [command options]",
  },
  features: { flags: {}, args: [0, 0], usage: "features" },
};

export type FlagValues = Record<string, string | boolean | string[] | number | undefined>;

export interface ParsedCommandLine {
  global: FlagValues;
  /** undefined: no command (e.g. `--version` alone). */
  command: string | undefined;
  flags: FlagValues;
  args: string[];
}

function lookup(table: FlagTable, name: string): [string, FlagTable[string]] | undefined {
  for (const [key, def] of Object.entries(table)) {
    if (key === name || def.aliases?.includes(name)) return [key, def];
  }
  return undefined;
}

/**
 * Parses flags at the head of `argv` against `table`; stops at the first non-flag (urfave/cli
 * v1 with SkipArgReorder: `exec ID sh -c …` keeps `-c` for the command).
 */
function parseFlags(argv: string[], table: FlagTable): { values: FlagValues; rest: string[] } {
  const values: FlagValues = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      i++;
      break;
    }
    if (!a.startsWith("-") || a === "-") break;
    const body = a.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const found = lookup(table, name);
    if (!found) throw usage(`flag provided but not defined: -${name}`);
    const [key, def] = found;
    if (def.kind === "bool") {
      const v = eq >= 0 ? body.slice(eq + 1) : "true";
      if (v !== "true" && v !== "false") throw usage(`invalid boolean value "${v}" for -${name}`);
      values[key] = v === "true";
      continue;
    }
    let v: string;
    if (eq >= 0) v = body.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw usage(`flag needs an argument: -${name}`);
      v = argv[++i]!;
    }
    if (def.kind === "list") values[key] = [...((values[key] as string[] | undefined) ?? []), v];
    else if (def.kind === "int") {
      if (!/^\d+$/.test(v)) throw usage(`invalid value "${v}" for flag -${name}: parse error`);
      values[key] = Number(v);
    } else values[key] = v;
  }
  return { values, rest: argv.slice(i) };
}

export function parseCommandLine(argv: string[]): ParsedCommandLine {
  const g = parseFlags(argv, GLOBAL_FLAGS);
  const [command, ...rest] = g.rest;
  if (command === undefined) return { global: g.values, command: undefined, flags: {}, args: [] };
  const def = COMMANDS[command];
  if (!def) throw usage(`No help topic for '${command}'`);
  const c = parseFlags(rest, def.flags);
  const [min, max] = def.args;
  if (c.rest.length < min || c.rest.length > max) {
    const want =
      min === max
        ? `exactly ${min}`
        : max === Number.POSITIVE_INFINITY
          ? `a minimum of ${min}`
          : `between ${min} and ${max}`;
    throw new RuntimeError(
      "RUNTIME_USAGE",
      `"${command}" requires ${want} argument(s)\nUsage: tskata-runtime ${def.usage}`,
    );
  }
  return { global: g.values, command, flags: c.values, args: c.rest };
}

/** Container ids runc accepts. */
export function checkId(id: string): void {
  if (!/^[\w+\-.]+$/.test(id) || id === "." || id === "..")
    throw new RuntimeError("RUNTIME_BAD_ID", `invalid id format: ${id}`);
}

const SIGNALS: Record<string, number> = {
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ILL: 4,
  TRAP: 5,
  ABRT: 6,
  IOT: 6,
  BUS: 7,
  FPE: 8,
  KILL: 9,
  USR1: 10,
  SEGV: 11,
  USR2: 12,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
  STKFLT: 16,
  CHLD: 17,
  CONT: 18,
  STOP: 19,
  TSTP: 20,
  TTIN: 21,
  TTOU: 22,
  URG: 23,
  XCPU: 24,
  XFSZ: 25,
  VTALRM: 26,
  PROF: 27,
  WINCH: 28,
  IO: 29,
  POLL: 29,
  PWR: 30,
  SYS: 31,
};

/** A signal by number, name (TERM) or SIG-name (SIGTERM), as `runc kill` takes it. */
export function parseSignal(raw: string): number {
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    if (n >= 1 && n <= 64) return n;
  } else {
    const name = raw.toUpperCase().replace(/^SIG/, "");
    const n = SIGNALS[name];
    if (n !== undefined) return n;
    const rt = /^RTMIN(?:\+(\d+))?$/.exec(name);
    if (rt) return 34 + Number(rt[1] ?? 0);
  }
  throw new RuntimeError("RUNTIME_BAD_INPUT", `unknown signal "${raw}"`);
}
