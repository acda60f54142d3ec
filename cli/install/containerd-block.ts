/**
 * The tskata runtime handler in containerd's config.toml, as a clearly delimited block appended
 * to the user's file (TOML cannot be rewritten losslessly: comments and layout would be lost).
 * The begin marker records what else install changed (a created file, an added final newline)
 * so removing the block restores the original byte for byte.
 */
import { parse } from "smol-toml";
import { CliError } from "../errors.js";
import { configVersion, criPluginKey, runtimeHandlers, TSKATA_RUNTIME_TYPE } from "./containerd-handlers.js";

export const HANDLER_NAME = "tskata";
const BEGIN = "# >>> tskata install >>>";
const END = "# <<< tskata install <<<";
const CREATED_HEADER = "version = 2\n";

type Flag = "created-file" | "newline-added";

export interface HandlerOptions {
  /** The tskata configuration file the shim is given (runtime options ConfigPath). */
  configPath: string;
}

/**
 * containerd 1.6/1.7 decode `runtimes` over the CRI plugin's defaults as a whole map: a file that
 * names any runtime loses the built-in `runc`, and the CRI plugin then refuses to load
 * ("no corresponding runtime configured … default_runtime_name = runc"). So when the file does
 * not declare runc (the default runtime) itself, the block declares it as containerd's default.
 */
function runcLines(runtimes: string, doc: Record<string, unknown>): string[] {
  const containerd = (
    doc["plugins"] as Record<string, Record<string, Record<string, unknown>>> | undefined
  )?.[criPluginKey(configVersion(doc))]?.["containerd"];
  const defaultName = containerd?.["default_runtime_name"] ?? "runc";
  if (defaultName !== "runc" || runtimeHandlers(doc).some((h) => h.name === "runc")) return [];
  return [
    "# containerd's built-in default runtime, declared because naming any runtime drops it.",
    `[${runtimes}.runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
  ];
}

function blockBody(
  version: number,
  opts: HandlerOptions,
  flags: readonly Flag[],
  doc: Record<string, unknown> = {},
): string {
  const runtimes = `plugins.${JSON.stringify(criPluginKey(version))}.containerd.runtimes`;
  const table = `${runtimes}.${HANDLER_NAME}`;
  return [
    `${BEGIN} flags=${flags.length > 0 ? flags.join(",") : "none"}`,
    "# Added by `tskata install`; `tskata uninstall` removes this block. Edit outside it.",
    `# Kubernetes: a RuntimeClass with handler: ${HANDLER_NAME} selects this runtime.`,
    `[${table}]`,
    `  runtime_type = ${JSON.stringify(TSKATA_RUNTIME_TYPE)}`,
    `[${table}.options]`,
    `  ConfigPath = ${JSON.stringify(opts.configPath)}`,
    ...runcLines(runtimes, doc),
    END,
    "",
  ].join("\n");
}

interface FoundBlock {
  start: number;
  end: number;
  flags: Flag[];
}

function findBlock(text: string): FoundBlock | undefined {
  const re = /^# >>> tskata install >>> flags=([a-z,-]+)\n/m;
  const m = re.exec(text);
  if (!m) return undefined;
  const endAt = text.indexOf(`${END}\n`, m.index);
  if (endAt < 0)
    throw new CliError(
      "CLI_INSTALL_BAD_FILE",
      `the tskata block has a begin marker but no "${END}" line; fix the file by hand`,
    );
  const flags = m[1] === "none" ? [] : (m[1]!.split(",") as Flag[]);
  return { start: m.index, end: endAt + END.length + 1, flags };
}

function parseToml(text: string, path: string): Record<string, unknown> {
  try {
    return parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new CliError(
      "CLI_INSTALL_BAD_FILE",
      `${path} is not valid TOML: ${(err as Error).message.split("\n")[0]}`,
    );
  }
}

export type MergeResult = { text: string; what: string };

/** The file with the handler block in it (unchanged when already there and identical). */
export function addHandler(before: string | undefined, path: string, opts: HandlerOptions): MergeResult {
  if (before === undefined) {
    return {
      text: CREATED_HEADER + blockBody(2, opts, ["created-file"]),
      what: `new file with runtime handler "${HANDLER_NAME}" (${TSKATA_RUNTIME_TYPE}, ConfigPath ${opts.configPath})`,
    };
  }
  const existing = findBlock(before);
  const outside = existing ? before.slice(0, existing.start) + before.slice(existing.end) : before;
  const doc = parseToml(outside, path);
  const version = configVersion(doc);
  const foreign = runtimeHandlers(doc).find((h) => h.name === HANDLER_NAME);
  if (foreign) {
    if (foreign.runtimeType === TSKATA_RUNTIME_TYPE && !existing)
      return {
        text: before,
        what: `already holds runtime handler "${HANDLER_NAME}" (not managed by tskata install)`,
      };
    throw new CliError(
      "CLI_INSTALL_CONFLICT",
      `${path} already defines ${foreign.table} (runtime_type ${JSON.stringify(foreign.runtimeType)}); remove it or rename it first`,
    );
  }
  let text: string;
  if (existing) {
    text =
      before.slice(0, existing.start) +
      blockBody(version, opts, existing.flags, doc) +
      before.slice(existing.end);
  } else {
    const needsNewline = before !== "" && !before.endsWith("\n");
    text =
      before +
      (needsNewline ? "\n" : "") +
      blockBody(version, opts, needsNewline ? ["newline-added"] : [], doc);
  }
  parseToml(text, `${path} with the tskata block added`);
  const what =
    text === before
      ? `holds runtime handler "${HANDLER_NAME}"`
      : `runtime handler "${HANDLER_NAME}" (${TSKATA_RUNTIME_TYPE}, ConfigPath ${opts.configPath}; config version ${version})`;
  return { text, what };
}

/** The file without the block, as it was before install (undefined: install created it). */
export function removeHandler(before: string | undefined): { text: string | undefined; what: string } {
  if (before === undefined) return { text: undefined, what: "does not exist" };
  const block = findBlock(before);
  if (!block) return { text: before, what: "holds no block added by tskata install" };
  let head = before.slice(0, block.start);
  if (block.flags.includes("newline-added") && head.endsWith("\n")) head = head.slice(0, -1);
  const text = head + before.slice(block.end);
  if (block.flags.includes("created-file") && text === CREATED_HEADER)
    return { text: undefined, what: "created by tskata install" };
  return { text, what: `runtime handler "${HANDLER_NAME}" block removed` };
}
