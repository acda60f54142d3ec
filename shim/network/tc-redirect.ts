/**
 * Kata's "tcfilter" model for one pod interface, all inside the pod netns: a tap for QEMU with
 * the veth's MTU, an ingress qdisc on both, and a u32 match-all filter on each redirecting every
 * frame to the other's egress (veth → tap, tap → veth). The veth keeps its addresses (CNI's
 * view of the pod stays true); the guest NIC gets the veth's MAC and addresses.
 */
import { access } from "node:fs/promises";
import { NetworkError } from "./errors.js";
import { CommandFailed, inNetns } from "./netns-exec.js";
import type { NetInterface } from "./types.js";

const INGRESS = "ffff:";

function redirectFilter(from: string, to: string): string[] {
  return [
    "filter",
    "add",
    "dev",
    from,
    "parent",
    INGRESS,
    "protocol",
    "all",
    "u32",
    "match",
    "u8",
    "0",
    "0",
    "action",
    "mirred",
    "egress",
    "redirect",
    "dev",
    to,
  ];
}

/** Creates the tap and both redirects; on any failure removes what it made, then throws. */
export async function attachTap(netnsPath: string, nic: NetInterface, tapName: string): Promise<void> {
  const undo: (() => Promise<unknown>)[] = [];
  const step = async (what: string, cmd: "ip" | "tc", args: string[], revert?: () => Promise<unknown>) => {
    try {
      await inNetns(netnsPath, cmd, args);
    } catch (err) {
      const why = err instanceof CommandFailed ? err.stderr : (err as Error).message;
      throw new NetworkError(
        "NETWORK_ATTACH_FAILED",
        `netns ${netnsPath}, interface ${nic.name}: ${what}: ${cmd} ${args.join(" ")}: ${why}`,
        { cause: err },
      );
    }
    if (revert) undo.unshift(revert);
  };
  try {
    await step("create tap", "ip", ["tuntap", "add", "dev", tapName, "mode", "tap"], () =>
      removeTap(netnsPath, tapName),
    );
    await step("tap MTU and up", "ip", ["link", "set", "dev", tapName, "mtu", String(nic.mtu), "up"]);
    await step("veth ingress qdisc", "tc", ["qdisc", "add", "dev", nic.name, "ingress"], () =>
      removeIngress(netnsPath, nic.name),
    );
    await step("tap ingress qdisc", "tc", ["qdisc", "add", "dev", tapName, "ingress"]);
    await step("redirect veth → tap", "tc", redirectFilter(nic.name, tapName));
    await step("redirect tap → veth", "tc", redirectFilter(tapName, nic.name));
  } catch (err) {
    for (const revert of undo) await revert().catch(() => undefined);
    throw err;
  }
}

/** Removes the tap (its qdisc and filter go with it); a tap already gone is fine. */
export async function removeTap(netnsPath: string, tapName: string): Promise<void> {
  await tolerateGone(inNetns(netnsPath, "ip", ["link", "del", "dev", tapName]));
}

/** Removes the ingress qdisc of a device and every filter under it; already gone is fine. */
export async function removeIngress(netnsPath: string, device: string): Promise<void> {
  await tolerateGone(inNetns(netnsPath, "tc", ["qdisc", "del", "dev", device, "ingress"]));
}

/** The device, qdisc or whole netns no longer exists: nothing is left to remove. */
function isGone(stderr: string): boolean {
  return /Cannot find device|does not exist|No such file|Invalid handle|Cannot delete qdisc with handle of zero|No such device/i.test(
    stderr,
  );
}

async function tolerateGone(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CommandFailed && isGone(err.stderr)) return;
    throw err;
  }
}

/** True while the netns file still exists (CNI may have removed it before a late teardown). */
export async function netnsExists(netnsPath: string): Promise<boolean> {
  return access(netnsPath).then(
    () => true,
    () => false,
  );
}
