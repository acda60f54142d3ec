/**
 * A small process that lives inside the pod netns (`nsenter --net=NETNS cat`, stdin a pipe the
 * agent holds: it ends with the agent). busybox `ip link set dev X netns PID` moves a NIC to it,
 * and /proc/PID/net/tcp shows the pod's sockets.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readlinkSync, statSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { GuestNetworkError } from "./errors.js";

export class NetnsHolder {
  private constructor(
    readonly netnsPath: string,
    readonly netnsInode: number,
    private readonly child: ChildProcess,
  ) {}

  get pid(): number {
    return this.child.pid!;
  }

  /** True while the holder runs in the namespace now mounted at netnsPath. */
  get current(): boolean {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return false;
    try {
      return statSync(this.netnsPath).ino === this.netnsInode;
    } catch {
      return false;
    }
  }

  static async start(netnsPath: string, timeoutMs = 5000): Promise<NetnsHolder> {
    const inode = statSync(netnsPath).ino;
    const child = spawn("/usr/bin/nsenter", [`--net=${netnsPath}`, "--", "/usr/bin/cat"], {
      stdio: ["pipe", "ignore", "ignore"],
    });
    child.on("error", () => undefined);
    const holder = new NetnsHolder(netnsPath, inode, child);
    const deadline = Date.now() + timeoutMs;
    // the pid exists before nsenter's setns: wait until the process is in the namespace
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) break;
      try {
        if (readlinkSync(`/proc/${child.pid}/ns/net`) === `net:[${inode}]`) return holder;
      } catch {
        // not yet
      }
      await sleep(5);
    }
    holder.stop();
    throw new GuestNetworkError("ERR_NETWORK_COMMAND", `no process could enter the pod netns ${netnsPath}`);
  }

  stop(): void {
    this.child.stdin?.destroy();
    this.child.kill("SIGKILL");
  }
}
