/** Reads what CNI configured in a pod netns: interfaces, routes and permanent neighbours. */
import { NetworkError } from "./errors.js";
import { parseAddrShow, parseNeighShow, parseRouteShow } from "./iproute-json.js";
import { CommandFailed, checkNetnsPath, inNetns } from "./netns-exec.js";
import type { NetnsConfig } from "./types.js";

/** Names CNI never gives a pod interface: the taps this module adds itself. */
export const TAP_PREFIX = "tsktap";

export async function inspectNetns(netnsPath: string): Promise<NetnsConfig> {
  await checkNetnsPath(netnsPath);
  const ip = (args: string[]) =>
    inNetns(netnsPath, "ip", ["-json", ...args]).catch((err: unknown) => {
      const why = err instanceof CommandFailed ? err.stderr : (err as Error).message;
      throw new NetworkError("NETWORK_INSPECT_FAILED", `netns ${netnsPath}: ip ${args.join(" ")}: ${why}`, {
        cause: err,
      });
    });
  const [addrs, routes4, routes6, neigh] = await Promise.all([
    ip(["addr", "show"]),
    ip(["-4", "route", "show"]),
    ip(["-6", "route", "show"]),
    ip(["neigh", "show"]),
  ]);
  const interfaces = parseAddrShow(addrs).filter((i) => !i.name.startsWith(TAP_PREFIX));
  const names = new Set(interfaces.map((i) => i.name));
  return {
    netnsPath,
    interfaces,
    routes: [...parseRouteShow(routes4, 4), ...parseRouteShow(routes6, 6)].filter((r) => names.has(r.device)),
    neighbors: parseNeighShow(neigh).filter((n) => names.has(n.device)),
  };
}
