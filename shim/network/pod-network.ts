/**
 * The pod's network as handed to the VM: CNI's interfaces in the pod netns, each with a tap
 * redirected to and from it (tc-redirect.ts), plus the routes and neighbours the guest copies.
 * The netns belongs to CNI: it is never created or deleted here.
 */
import type { Logger } from "pino";
import { NetworkError } from "./errors.js";
import { inspectNetns, TAP_PREFIX } from "./inspect.js";
import { CommandFailed, inNetns } from "./netns-exec.js";
import { attachTap, netnsExists, removeIngress, removeTap } from "./tc-redirect.js";
import type { AttachedNic, Neighbor, PodNetworkRecord, Route } from "./types.js";

/** What the hypervisor needs to plug the taps in (StartRequest.network). */
export interface VmNetwork {
  netnsPath: string;
  nics: { tapName: string; mac: string; mtu: number }[];
}

export class PodNetwork {
  private detaching: Promise<void> | undefined;

  constructor(
    readonly netnsPath: string,
    readonly nics: readonly AttachedNic[],
    readonly routes: readonly Route[],
    readonly neighbors: readonly Neighbor[],
    private readonly log?: Logger,
  ) {}

  /** For `StartRequest.network`. */
  get vmNetwork(): VmNetwork {
    return {
      netnsPath: this.netnsPath,
      nics: this.nics.map((n) => ({ tapName: n.tapName, mac: n.mac, mtu: n.mtu })),
    };
  }

  /** For the sandbox resources record (crash cleanup). */
  get record(): PodNetworkRecord {
    return { netnsPath: this.netnsPath, tapNames: this.nics.map((n) => n.tapName) };
  }

  /** Removes the taps and the veths' ingress qdiscs; idempotent; a netns already gone is fine. */
  detach(): Promise<void> {
    this.detaching ??= detachPodNetwork(
      { netnsPath: this.netnsPath, tapNames: this.nics.map((n) => n.tapName) },
      this.nics.map((n) => n.name),
    ).then(() => this.log?.debug({ netns: this.netnsPath }, "pod network detached"));
    return this.detaching;
  }
}

/**
 * Inspects the pod netns CNI prepared and attaches a tap to each interface. Refuses a netns with
 * no interface (nothing to give the VM) and the host's own netns. On failure, whatever was
 * attached is removed before the error leaves.
 */
export async function attachPodNetwork(netnsPath: string, log?: Logger): Promise<PodNetwork> {
  const network = await attachConfiguredNetwork(netnsPath, log);
  if (!network) {
    throw new NetworkError(
      "NETWORK_NO_INTERFACES",
      `netns ${netnsPath} has no interface besides lo: did CNI run for this pod?`,
    );
  }
  return network;
}

/**
 * attachPodNetwork for a netns that may hold nothing but lo (a plain container's: its caller or a
 * hook may or may not have configured one): undefined then, and nothing is attached.
 */
export async function attachConfiguredNetwork(
  netnsPath: string,
  log?: Logger,
): Promise<PodNetwork | undefined> {
  const config = await inspectNetns(netnsPath);
  if (config.interfaces.length === 0) return undefined;
  const nics: AttachedNic[] = [];
  try {
    for (const [i, iface] of config.interfaces.entries()) {
      const tapName = `${TAP_PREFIX}${i}`;
      await attachTap(netnsPath, iface, tapName);
      nics.push({ ...iface, tapName });
    }
  } catch (err) {
    await detachPodNetwork(
      { netnsPath, tapNames: nics.map((n) => n.tapName) },
      nics.map((n) => n.name),
    ).catch((cleanupErr: unknown) => log?.error({ err: cleanupErr }, "undoing a partial attach failed"));
    throw err;
  }
  log?.info(
    { netns: netnsPath, nics: nics.map((n) => ({ name: n.name, tap: n.tapName, mac: n.mac, mtu: n.mtu })) },
    "pod network attached",
  );
  return new PodNetwork(netnsPath, nics, config.routes, config.neighbors, log);
}

/**
 * Removes the taps a record names and the ingress qdiscs of the given veths (for crash cleanup
 * from the record only: then every interface of the netns that still has the redirect is
 * cleaned). Tolerates a netns, tap or qdisc that is gone already.
 */
export async function detachPodNetwork(
  record: PodNetworkRecord,
  vethNames?: readonly string[],
): Promise<void> {
  if (!(await netnsExists(record.netnsPath))) return;
  const failures: string[] = [];
  const attempt = async (what: string, p: Promise<void>) => {
    try {
      await p;
    } catch (err) {
      if (!(await netnsExists(record.netnsPath))) return; // went away under us
      failures.push(`${what}: ${err instanceof CommandFailed ? err.stderr : (err as Error).message}`);
    }
  };
  const veths = vethNames ?? (await redirectedVeths(record));
  for (const veth of veths) await attempt(`ingress qdisc of ${veth}`, removeIngress(record.netnsPath, veth));
  for (const tap of record.tapNames) await attempt(`tap ${tap}`, removeTap(record.netnsPath, tap));
  if (failures.length > 0) {
    throw new NetworkError("NETWORK_DETACH_FAILED", `netns ${record.netnsPath}: ${failures.join("; ")}`);
  }
}

/** The interfaces whose ingress redirects to one of the record's taps (crash cleanup). */
async function redirectedVeths(record: PodNetworkRecord): Promise<string[]> {
  const out: string[] = [];
  let links: { ifname?: string }[] = [];
  try {
    links = JSON.parse(await inNetns(record.netnsPath, "ip", ["-json", "link", "show"])) as {
      ifname?: string;
    }[];
  } catch {
    return out;
  }
  for (const link of links) {
    const name = link.ifname;
    if (!name || name === "lo" || record.tapNames.includes(name)) continue;
    const filters = await inNetns(record.netnsPath, "tc", ["filter", "show", "dev", name, "ingress"]).catch(
      () => "",
    );
    if (record.tapNames.some((tap) => filters.includes(`to device ${tap})`))) out.push(name);
  }
  return out;
}
