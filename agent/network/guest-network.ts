/**
 * The pod's network inside the guest. The VM's virtio-net NICs appear in the agent's (root)
 * netns; each is moved into the sandbox netns every container joins (agent/container/sandbox.ts),
 * matched by MAC, renamed to the host-side name, given CNI's MTU and addresses, brought up; then
 * routes and neighbours. The agent's own namespace keeps nothing of the pod's network.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { SANDBOX_DIR } from "../container/sandbox.js";
import { loadModules } from "../init/modules.js";
import { ConnectionTable } from "./connections.js";
import { GuestNetworkError } from "./errors.js";
import { inAgentNetns, inPodNetns, inPodNetnsBatch } from "./ip-command.js";
import {
  type GuestAddress,
  type GuestLink,
  type GuestRoute,
  parseAddresses,
  parseLinks,
  parseListeningPorts,
  parseRoutes,
  scopeName,
} from "./ip-output.js";
import { NetnsHolder } from "./netns-holder.js";

export interface InterfaceSpec {
  name: string;
  mac: string;
  mtu: number;
  addresses: { address: string; prefixLength: number }[];
}

export interface InterfaceState {
  name: string;
  mac: string;
  mtu: number;
  addresses: { address: string; prefixLength: number }[];
}

export interface NeighborSpec {
  ipAddress: string;
  mac: string;
  device: string;
}

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const NIC_WAIT_MS = 20_000;
const PORT_POLL_MS = 250;

export class GuestNetwork {
  readonly connections = new ConnectionTable();
  private holder: NetnsHolder | undefined;

  constructor(readonly netnsPath = join(SANDBOX_DIR, "netns")) {}

  /** Configures one NIC in the pod netns; returns it as the guest now sees it. */
  async updateInterface(spec: InterfaceSpec): Promise<InterfaceState> {
    const mac = spec.mac.toLowerCase();
    validateInterface(spec, mac);
    const holder = await this.podHolder();
    let link = (await this.podLinks()).find((l) => l.mac === mac);
    if (!link) {
      const name = await waitForAgentNic(mac);
      await inAgentNetns("/usr/bin/ip", ["link", "set", "dev", name, "netns", String(holder.pid)]);
      link = (await this.podLinks()).find((l) => l.mac === mac);
      if (!link)
        throw new GuestNetworkError(
          "ERR_NETWORK_NIC_NOT_FOUND",
          `NIC ${mac} did not arrive in the pod netns`,
        );
    }
    const ip = (...args: string[]) => ["/usr/bin/ip", ...args];
    const out = await inPodNetnsBatch(this.netnsPath, [
      ip("link", "set", "dev", link.name, "down"),
      ...(link.name !== spec.name ? [ip("link", "set", "dev", link.name, "name", spec.name)] : []),
      ip("link", "set", "dev", spec.name, "mtu", String(spec.mtu)),
      ip("addr", "flush", "dev", spec.name),
      ip("link", "set", "dev", spec.name, "up"),
      ...spec.addresses.map((a) =>
        ip(
          ...(isIP(a.address) === 6 ? ["-6"] : []),
          "addr",
          "add",
          `${a.address}/${a.prefixLength}`,
          "dev",
          spec.name,
        ),
      ),
      // what the guest now has, read in the same batch
      ip("-o", "link"),
      ip("-o", "addr"),
    ]);
    const [links, addrs] = out.slice(-2) as [string, string];
    const state = interfacesFrom(links, addrs).find((i) => i.name === spec.name);
    if (!state) throw new GuestNetworkError("ERR_NETWORK_NIC_NOT_FOUND", `${spec.name} vanished after setup`);
    return state;
  }

  /**
   * Adds (or replaces) each route: on-link routes first, so that gateways are reachable when the
   * routes through them are added. Routes not listed are left alone.
   */
  async updateRoutes(routes: GuestRoute[]): Promise<GuestRoute[]> {
    await this.podHolder();
    for (const r of routes) validateRoute(r);
    const ordered = [...routes.filter((r) => !r.gateway), ...routes.filter((r) => r.gateway)];
    const commands = ordered.map((r) => {
      const v6 = isIP(r.gateway) === 6 || r.destination.includes(":");
      const args = ["/usr/bin/ip", ...(v6 ? ["-6"] : []), "route", "replace", r.destination];
      if (r.gateway) args.push("via", r.gateway);
      args.push("dev", r.device);
      if (r.source) args.push("src", r.source);
      if (r.scope !== 0 && !r.gateway) args.push("scope", scopeName(r.scope));
      return args;
    });
    const out = await inPodNetnsBatch(this.netnsPath, [...commands, ...LIST_ROUTES]);
    return routesFrom(out[out.length - 2]!, out[out.length - 1]!);
  }

  /** Permanent neighbour entries (busybox can only set IPv4 ones: `arp -s`). */
  async updateNeighbors(neighbors: NeighborSpec[]): Promise<void> {
    await this.podHolder();
    for (const n of neighbors) {
      if (isIP(n.ipAddress) !== 4)
        throw new GuestNetworkError(
          "ERR_NETWORK_UNSUPPORTED",
          `neighbour ${n.ipAddress}: only IPv4 neighbours can be set in this guest`,
        );
      if (!MAC.test(n.mac.toLowerCase()) || !IFNAME.test(n.device))
        throw new GuestNetworkError("ERR_NETWORK_INVALID", `neighbour ${n.ipAddress}: bad MAC or device`);
    }
    await inPodNetnsBatch(
      this.netnsPath,
      neighbors.map((n) => ["/usr/bin/arp", "-i", n.device, "-s", n.ipAddress, n.mac.toLowerCase()]),
    );
  }

  async listInterfaces(): Promise<InterfaceState[]> {
    await this.podHolder();
    const [links, addrs] = await inPodNetnsBatch(this.netnsPath, [
      ["/usr/bin/ip", "-o", "link"],
      ["/usr/bin/ip", "-o", "addr"],
    ]);
    return interfacesFrom(links!, addrs!);
  }

  async listRoutes(): Promise<GuestRoute[]> {
    await this.podHolder();
    const [v4, v6] = await inPodNetnsBatch(this.netnsPath, LIST_ROUTES);
    return routesFrom(v4!, v6!);
  }

  /** TCP ports listening on loopback/wildcard in the pod netns. */
  async listeningPorts(): Promise<number[]> {
    const holder = await this.podHolder();
    const read = (f: string) => {
      try {
        return readFileSync(`/proc/${holder.pid}/net/${f}`, "utf8");
      } catch {
        return "";
      }
    };
    return parseListeningPorts(read("tcp"), read("tcp6"));
  }

  /** Answers when the set of listening ports differs from `known`, or after waitMs. */
  async waitListeningPorts(known: number[], waitMs: number, signal?: AbortSignal): Promise<number[]> {
    const want = [...new Set(known)].sort((a, b) => a - b).join(",");
    const deadline = Date.now() + waitMs;
    for (;;) {
      const ports = await this.listeningPorts();
      if (ports.join(",") !== want || Date.now() >= deadline || signal?.aborted) return ports;
      await sleep(Math.min(PORT_POLL_MS, Math.max(1, deadline - Date.now())));
    }
  }

  openConnection(port: number): bigint {
    this.requireSandbox();
    return this.connections.open(this.netnsPath, port);
  }

  /** DestroySandbox: connections closed, the holder process gone. */
  stop(): void {
    this.connections.closeAll();
    this.holder?.stop();
    this.holder = undefined;
  }

  private async podLinks(): Promise<GuestLink[]> {
    return parseLinks(await inPodNetns(this.netnsPath, "/usr/bin/ip", ["-o", "link"]));
  }

  private requireSandbox(): void {
    try {
      // the netns file is a bind mount of an nsfs inode while the sandbox exists
      const ns = statSync(this.netnsPath);
      const own = statSync("/proc/self/ns/net");
      if (ns.dev === own.dev && ns.ino !== own.ino) return;
    } catch {
      // absent
    }
    throw new GuestNetworkError(
      "ERR_NETWORK_NO_SANDBOX",
      `the pod netns ${this.netnsPath} does not exist: CreateSandbox first`,
    );
  }

  private async podHolder(): Promise<NetnsHolder> {
    this.requireSandbox();
    if (this.holder?.current) return this.holder;
    this.holder?.stop();
    this.holder = await NetnsHolder.start(this.netnsPath);
    return this.holder;
  }
}

/** The main table's routes, IPv4 then IPv6 (an IPv6-less guest answers the second with nothing). */
const LIST_ROUTES: readonly (readonly string[])[] = [
  ["/usr/bin/ip", "route"],
  ["/bin/sh", "-c", "/usr/bin/ip -6 route 2>/dev/null || true"],
];

function routesFrom(v4: string, v6: string): GuestRoute[] {
  return [...parseRoutes(v4), ...parseRoutes(v6)];
}

/** Non-loopback links with their global addresses, from `ip -o link` and `ip -o addr`. */
function interfacesFrom(linkText: string, addrText: string): InterfaceState[] {
  const addrs = parseAddresses(addrText);
  return parseLinks(linkText)
    .filter((l) => !l.flags.includes("LOOPBACK"))
    .map((l) => ({
      name: l.name,
      mac: l.mac,
      mtu: l.mtu,
      addresses: addrs
        .filter((a: GuestAddress) => a.device === l.name && a.scope !== "link")
        .map((a) => ({ address: a.address, prefixLength: a.prefixLength })),
    }));
}

function validateInterface(spec: InterfaceSpec, mac: string): void {
  if (!IFNAME.test(spec.name))
    throw new GuestNetworkError(
      "ERR_NETWORK_INVALID",
      `interface name ${JSON.stringify(spec.name)} is invalid`,
    );
  if (!MAC.test(mac))
    throw new GuestNetworkError(
      "ERR_NETWORK_INVALID",
      `interface ${spec.name}: MAC ${JSON.stringify(spec.mac)} is invalid`,
    );
  if (!Number.isInteger(spec.mtu) || spec.mtu < 68 || spec.mtu > 65535)
    throw new GuestNetworkError(
      "ERR_NETWORK_INVALID",
      `interface ${spec.name}: MTU ${spec.mtu} is out of range`,
    );
  for (const a of spec.addresses) {
    const family = isIP(a.address);
    if (family === 0 || a.prefixLength > (family === 4 ? 32 : 128))
      throw new GuestNetworkError(
        "ERR_NETWORK_INVALID",
        `interface ${spec.name}: address ${a.address}/${a.prefixLength} is invalid`,
      );
  }
}

function validateRoute(r: GuestRoute): void {
  const prefix = r.destination === "default" ? "" : r.destination.split("/")[0]!;
  if ((prefix && isIP(prefix) === 0) || (r.gateway && isIP(r.gateway) === 0) || !IFNAME.test(r.device))
    throw new GuestNetworkError(
      "ERR_NETWORK_INVALID",
      `route ${r.destination} via ${r.gateway || "-"} dev ${r.device}: invalid`,
    );
}

/** The NIC with this MAC in the agent's netns, once virtio_net has probed it. */
async function waitForAgentNic(mac: string): Promise<string> {
  await loadModules(["virtio_net"]);
  const deadline = Date.now() + NIC_WAIT_MS;
  for (;;) {
    for (const name of readdirSync("/sys/class/net")) {
      try {
        if (readFileSync(`/sys/class/net/${name}/address`, "utf8").trim().toLowerCase() === mac) return name;
      } catch {
        // went away
      }
    }
    if (Date.now() >= deadline)
      throw new GuestNetworkError(
        "ERR_NETWORK_NIC_NOT_FOUND",
        `no NIC with MAC ${mac} appeared in the guest within ${NIC_WAIT_MS} ms`,
      );
    await sleep(50);
  }
}
