/**
 * busybox `ip`/`arp` inside the pod netns (`nsenter --net=NETNS ...`) or the agent's own, errors
 * naming the command. A batch runs several commands through one `nsenter … sh` (a Node spawn costs
 * ~40 ms of emulated CPU under TCG; busybox's own forks a fraction of that), stopping at the first
 * that fails, and returns each command's stdout.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { GuestNetworkError } from "./errors.js";

const execFileAsync = promisify(execFile);

export async function inPodNetns(netnsPath: string, cmd: string, args: readonly string[]): Promise<string> {
  const [out] = await inPodNetnsBatch(netnsPath, [[cmd, ...args]]);
  return out!;
}

/** `sh` word for any string: single-quoted, embedded quotes closed and escaped. */
export function shellWord(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

const SECTION = "@@tskata-batch-section@@";
const FAILED = "@@tskata-batch-failed@@";

/**
 * The `sh -c` script of a batch: each command in turn; a failing one writes its index to stderr
 * and ends the script; a marker line after each command's stdout separates the outputs.
 */
export function batchScript(commands: readonly (readonly string[])[]): string {
  return commands
    .map(
      (argv, i) =>
        `${argv.map(shellWord).join(" ")} || { echo ${FAILED}${i} >&2; exit 97; }\necho ${SECTION}`,
    )
    .join("\n");
}

/** Splits a batch's stdout into each command's output. */
export function splitBatchOutput(stdout: string, count: number): string[] {
  const parts = stdout.split(`${SECTION}\n`);
  return Array.from({ length: count }, (_, i) => parts[i] ?? "");
}

/**
 * Runs `commands` (argv arrays, absolute paths) in the pod netns through one nsenter + sh; the
 * first failing command ends the batch with an error naming it and its stderr.
 */
export async function inPodNetnsBatch(
  netnsPath: string,
  commands: readonly (readonly string[])[],
): Promise<string[]> {
  if (commands.length === 0) return [];
  try {
    const { stdout } = await execFileAsync(
      "/usr/bin/nsenter",
      [`--net=${netnsPath}`, "--", "/bin/sh", "-c", batchScript(commands)],
      { timeout: 30_000 },
    );
    return splitBatchOutput(stdout, commands.length);
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? "");
    const failed = new RegExp(`${FAILED}(\\d+)`).exec(stderr);
    const argv = failed ? commands[Number(failed[1])]! : ["nsenter", `--net=${netnsPath}`];
    const text = stderr.replace(new RegExp(`${FAILED}\\d+\\n?`), "").trim();
    throw new GuestNetworkError(
      "ERR_NETWORK_COMMAND",
      `${argv.join(" ")}: ${text || (err as Error).message}`,
      { cause: err },
    );
  }
}

/** `ip` in the agent's own (root) netns, where a new NIC appears. */
export async function inAgentNetns(cmd: string, args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(cmd, [...args], { timeout: 30_000 });
    return stdout;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new GuestNetworkError(
      "ERR_NETWORK_COMMAND",
      `${cmd} ${args.join(" ")}: ${stderr || (err as Error).message}`,
      { cause: err },
    );
  }
}
