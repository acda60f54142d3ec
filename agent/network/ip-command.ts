/** busybox `ip`/`arp` inside the pod netns (`nsenter --net=NETNS ...`), errors naming the command. */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { GuestNetworkError } from "./errors.js";

const execFileAsync = promisify(execFile);

export async function inPodNetns(netnsPath: string, cmd: string, args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync("/usr/bin/nsenter", [`--net=${netnsPath}`, "--", cmd, ...args], {
      timeout: 30_000,
    });
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
