/**
 * Parsers of busybox `ip` output (it has no JSON): `ip -o link`, `ip -o addr`, `ip [-6] route`,
 * and of /proc/net/tcp{,6} for the listening ports. Pure functions, unit-tested.
 */

export interface GuestLink {
  index: number;
  name: string;
  flags: string[];
  mtu: number;
  mac: string;
}

export interface GuestAddress {
  device: string;
  family: 4 | 6;
  address: string;
  prefixLength: number;
  scope: string;
}

export interface GuestRoute {
  destination: string;
  gateway: string;
  device: string;
  source: string;
  scope: number;
}

const LINK_LINE = /^(\d+):\s+([^:@\s]+)(?:@\S+)?:\s+<([^>]*)>\s+mtu\s+(\d+).*?link\/\S+\s+([0-9a-fA-F:]+)/;
const ADDR_LINE = /^\d+:\s+(\S+)\s+(inet6?)\s+([0-9a-fA-F.:]+)\/(\d+)(?:.*?\sscope\s+(\S+))?/;
const SCOPES: Record<string, number> = { global: 0, universe: 0, site: 200, link: 253, host: 254 };
const SCOPE_NAMES: Record<number, string> = { 0: "global", 200: "site", 253: "link", 254: "host" };

export function scopeName(scope: number): string {
  return SCOPE_NAMES[scope] ?? String(scope);
}

/** `ip -o link` (one line per link, the rest of the record after a backslash). */
export function parseLinks(text: string): GuestLink[] {
  const out: GuestLink[] = [];
  for (const line of text.split("\n")) {
    const m = LINK_LINE.exec(line);
    if (!m) continue;
    out.push({
      index: Number(m[1]),
      name: m[2]!,
      flags: m[3]!.split(",").filter((f) => f !== ""),
      mtu: Number(m[4]),
      mac: m[5]!.toLowerCase(),
    });
  }
  return out;
}

/** `ip -o addr`. */
export function parseAddresses(text: string): GuestAddress[] {
  const out: GuestAddress[] = [];
  for (const line of text.split("\n")) {
    const m = ADDR_LINE.exec(line);
    if (!m) continue;
    out.push({
      device: m[1]!,
      family: m[2] === "inet" ? 4 : 6,
      address: m[3]!,
      prefixLength: Number(m[4]),
      scope: m[5] ?? "global",
    });
  }
  return out;
}

/** `ip route` / `ip -6 route` of the main table: unicast routes only, the kernel's fe80/ff00 left out. */
export function parseRoutes(text: string): GuestRoute[] {
  const out: GuestRoute[] = [];
  for (const line of text.split("\n")) {
    const words = line.trim().split(/\s+/);
    const destination = words[0];
    if (!destination) continue;
    if (
      ["local", "broadcast", "unreachable", "prohibit", "blackhole", "multicast", "anycast"].includes(
        destination,
      )
    )
      continue;
    if (destination.startsWith("fe80:") || destination.startsWith("ff00:")) continue;
    const value = (key: string) => {
      const i = words.indexOf(key);
      return i > 0 ? (words[i + 1] ?? "") : "";
    };
    const device = value("dev");
    if (!device) continue;
    out.push({
      destination,
      gateway: value("via"),
      device,
      source: value("src"),
      scope: SCOPES[value("scope") || "global"] ?? 0,
    });
  }
  return out;
}

const TCP_LISTEN = "0A";

/**
 * TCP ports in LISTEN state reachable on loopback: bound to a loopback or wildcard address, from
 * /proc/PID/net/tcp (IPv4) or tcp6 (IPv6). Sorted, unique.
 */
export function parseListeningPorts(tcp: string, tcp6: string): number[] {
  const ports = new Set<number>();
  for (const [text, v6] of [
    [tcp, false],
    [tcp6, true],
  ] as const) {
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      const local = f[1];
      if (!local || f[3] !== TCP_LISTEN) continue;
      const [addr = "", portHex = ""] = local.split(":");
      if (!reachableOnLoopback(addr, v6)) continue;
      ports.add(Number.parseInt(portHex, 16));
    }
  }
  return [...ports].sort((a, b) => a - b);
}

/** /proc/net/tcp prints addresses as host-order 32-bit words in hex. */
function reachableOnLoopback(hex: string, v6: boolean): boolean {
  if (!v6) return hex === "00000000" || hex.endsWith("7F"); // 0.0.0.0 or 127.x.y.z (little-endian)
  if (/^0+$/.test(hex)) return true; // ::
  if (hex === "00000000000000000000000001000000") return true; // ::1
  // ::ffff:127.x.y.z and ::ffff:0.0.0.0
  return hex.startsWith("0000000000000000FFFF0000") && (hex.endsWith("7F") || hex.endsWith("00000000"));
}
