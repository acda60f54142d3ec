/**
 * The command line containerd gives a shim v2 binary, parsed Go-flag style (`-name value`,
 * `-name=value`, `--name value`, boolean `-debug`), then the action:
 *   containerd-shim-tskata-v2 -namespace NS -address SOCK -publish-binary BIN -id ID [-debug] start
 *   containerd-shim-tskata-v2 -namespace NS -address SOCK -publish-binary BIN -id ID -bundle DIR delete
 * No action means "serve" (the daemon the start action spawns).
 */

export type ShimAction = "start" | "delete" | "serve";

export interface ShimFlags {
  action: ShimAction;
  namespace: string;
  /** containerd's gRPC socket. */
  address: string;
  publishBinary: string;
  id: string;
  bundle: string;
  /** Socket this daemon serves on (passed from start to serve). */
  socket: string;
  debug: boolean;
}

export class ShimFlagError extends Error {
  override readonly name = "ShimFlagError";
  readonly code = "SHIM_BAD_FLAGS";
}

const STRING_FLAGS = {
  namespace: "namespace",
  address: "address",
  "publish-binary": "publishBinary",
  id: "id",
  bundle: "bundle",
  socket: "socket",
} as const satisfies Record<string, keyof ShimFlags>;

const BOOLEAN_FLAGS = new Set(["debug", "v"]);

export function parseShimFlags(argv: readonly string[]): ShimFlags {
  const flags: ShimFlags = {
    action: "serve",
    namespace: "",
    address: "",
    publishBinary: "",
    id: "",
    bundle: "",
    socket: "",
    debug: false,
  };
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("-") || arg === "-" || arg === "--") {
      positional.push(...(arg === "--" ? argv.slice(i + 1) : [arg]));
      if (arg === "--") break;
      continue;
    }
    const body = arg.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (BOOLEAN_FLAGS.has(name)) {
      const value = eq >= 0 ? body.slice(eq + 1) : "true";
      if (value !== "true" && value !== "false")
        throw new ShimFlagError(`flag -${name}: not a boolean: ${value}`);
      if (name === "debug") flags.debug = value === "true";
      continue;
    }
    const key = STRING_FLAGS[name as keyof typeof STRING_FLAGS];
    if (key === undefined) throw new ShimFlagError(`unknown flag -${name}`);
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else {
      const next = argv[++i];
      if (next === undefined) throw new ShimFlagError(`flag -${name} needs a value`);
      value = next;
    }
    flags[key] = value;
  }
  if (positional.length > 1) throw new ShimFlagError(`one action expected, got: ${positional.join(" ")}`);
  const action = positional[0];
  if (action !== undefined) {
    if (action !== "start" && action !== "delete") {
      throw new ShimFlagError(`unknown action ${JSON.stringify(action)} (want start or delete)`);
    }
    flags.action = action;
  }
  if (flags.namespace === "") throw new ShimFlagError("flag -namespace is required");
  if (flags.id === "") throw new ShimFlagError("flag -id is required");
  return flags;
}
