/**
 * Runs iproute2 inside a network namespace (`nsenter --net=PATH ip|tc ...`) and checks that a path
 * names a network namespace other than the shim's own.
 */
import { execFile } from "node:child_process";
import { stat } from "node:fs/promises";
import { promisify } from "node:util";
import { NetworkError } from "./errors.js";

const execFileAsync = promisify(execFile);
const NSFS_MAGIC_DEV_NOTE = "a bind-mounted network namespace (e.g. /var/run/netns/cni-…)";

export class CommandFailed extends Error {
  override name = "CommandFailed";
  constructor(
    readonly command: string,
    readonly stderr: string,
  ) {
    super(`${command}: ${stderr}`);
  }
}

/** `nsenter --net=<netnsPath> <cmd> <args>`; rejects with CommandFailed carrying stderr. */
export async function inNetns(netnsPath: string, cmd: string, args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync("nsenter", [`--net=${netnsPath}`, "--", cmd, ...args], {
      timeout: 30_000,
      maxBuffer: 16 << 20,
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new CommandFailed(`${cmd} ${args.join(" ")}`, (e.stderr ?? "").trim() || e.message);
  }
}

/** Refuses a path that is missing, not a netns, or the shim's own (hostNetwork) namespace. */
export async function checkNetnsPath(netnsPath: string): Promise<void> {
  if (!netnsPath.startsWith("/")) {
    throw new NetworkError(
      "NETWORK_NETNS_INVALID",
      `netns path ${JSON.stringify(netnsPath)} is not absolute`,
    );
  }
  const [target, own] = await Promise.all([
    stat(netnsPath).catch((err: NodeJS.ErrnoException) => {
      throw new NetworkError("NETWORK_NETNS_INVALID", `netns ${netnsPath}: ${err.code ?? err.message}`, {
        cause: err,
      });
    }),
    stat("/proc/self/ns/net"),
  ]);
  if (target.dev !== own.dev) {
    throw new NetworkError(
      "NETWORK_NETNS_INVALID",
      `${netnsPath} is not a network namespace: expected ${NSFS_MAGIC_DEV_NOTE}`,
    );
  }
  if (target.ino === own.ino) {
    throw new NetworkError(
      "NETWORK_HOST_NETNS",
      `${netnsPath} is the host's own network namespace: host networking is not supported by a VM sandbox`,
    );
  }
}
