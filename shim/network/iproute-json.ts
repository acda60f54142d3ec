/**
 * Typed objects from iproute2's JSON output (`ip -json addr|route|neigh show`). Pure functions:
 * unit-tested on recorded output. Loopback, link-local addresses and the kernel's own IPv6
 * link-local/multicast routes are left out: the guest kernel makes those itself.
 */
import { NetworkError } from "./errors.js";
import type { IpAddress, Neighbor, NetInterface, Route } from "./types.js";

interface JsonAddrInfo {
  family?: string;
  local?: string;
  prefixlen?: number;
  scope?: string;
}

interface JsonLink {
  ifname?: string;
  address?: string;
  mtu?: number;
  link_type?: string;
  flags?: string[];
  addr_info?: JsonAddrInfo[];
}

interface JsonRoute {
  dst?: string;
  gateway?: string;
  dev?: string;
  prefsrc?: string;
  scope?: string;
  type?: string;
}

interface JsonNeigh {
  dst?: string;
  dev?: string;
  lladdr?: string;
  state?: string[];
}

const SCOPES: Record<string, number> = { global: 0, universe: 0, site: 200, link: 253, host: 254 };

function parseArray(text: string, what: string): unknown[] {
  let value: unknown;
  try {
    value = JSON.parse(text.trim() === "" ? "[]" : text);
  } catch (err) {
    throw new NetworkError("NETWORK_INSPECT_FAILED", `${what}: not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(value))
    throw new NetworkError("NETWORK_INSPECT_FAILED", `${what}: expected a JSON array`);
  return value;
}

/** Interfaces from `ip -json addr show`: every non-loopback ethernet link. */
export function parseAddrShow(text: string): NetInterface[] {
  const out: NetInterface[] = [];
  for (const raw of parseArray(text, "ip addr show") as JsonLink[]) {
    if (raw.link_type === "loopback" || raw.flags?.includes("LOOPBACK")) continue;
    if (!raw.ifname || !raw.address || typeof raw.mtu !== "number") {
      throw new NetworkError(
        "NETWORK_INSPECT_FAILED",
        `ip addr show: link ${JSON.stringify(raw.ifname ?? "?")} lacks a name, MAC or MTU`,
      );
    }
    const addresses: IpAddress[] = [];
    for (const a of raw.addr_info ?? []) {
      if (!a.local || typeof a.prefixlen !== "number") continue;
      if (a.scope === "link" || a.scope === "host") continue;
      if (a.family !== "inet" && a.family !== "inet6") continue;
      addresses.push({ address: a.local, prefixLength: a.prefixlen, family: a.family === "inet" ? 4 : 6 });
    }
    out.push({ name: raw.ifname, mac: raw.address.toLowerCase(), mtu: raw.mtu, addresses });
  }
  return out;
}

/** Routes from `ip -json [-6] route show` (main table, unicast only). */
export function parseRouteShow(text: string, family: 4 | 6): Route[] {
  const out: Route[] = [];
  for (const raw of parseArray(text, "ip route show") as JsonRoute[]) {
    if (!raw.dst || !raw.dev) continue; // multipath or blackhole routes are not carried
    if (raw.type && raw.type !== "unicast") continue;
    if (family === 6 && (raw.dst.startsWith("fe80:") || raw.dst.startsWith("ff00:"))) continue;
    out.push({
      destination: raw.dst,
      gateway: raw.gateway ?? "",
      device: raw.dev,
      source: raw.prefsrc ?? "",
      scope: SCOPES[raw.scope ?? "global"] ?? 0,
      family,
    });
  }
  return out;
}

/** Permanent neighbour entries from `ip -json neigh show` (the ones CNI set; learnt ones are not). */
export function parseNeighShow(text: string): Neighbor[] {
  const out: Neighbor[] = [];
  for (const raw of parseArray(text, "ip neigh show") as JsonNeigh[]) {
    if (!raw.dst || !raw.dev || !raw.lladdr) continue;
    if (!raw.state?.includes("PERMANENT")) continue;
    out.push({ ipAddress: raw.dst, mac: raw.lladdr.toLowerCase(), device: raw.dev });
  }
  return out;
}
