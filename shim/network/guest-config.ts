/**
 * Copies the pod network into the guest through the agent, once the sandbox exists there
 * (after CreateSandbox): each NIC (matched by MAC, renamed to CNI's name), then the routes, then
 * CNI's permanent neighbours.
 */
import type { Logger } from "pino";
import type { AgentApi } from "../agent-client/agent-client.js";
import { NetworkError } from "./errors.js";
import type { PodNetwork } from "./pod-network.js";

export interface GuestNetworkOptions {
  /** Bound of each call; the first waits for the guest's virtio_net (default 60 s under TCG). */
  timeoutMs?: number;
  log?: Logger;
}

export async function configureGuestNetwork(
  agent: AgentApi,
  net: PodNetwork,
  opts: GuestNetworkOptions = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const step = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      throw new NetworkError(
        "NETWORK_GUEST_CONFIG_FAILED",
        `pod netns ${net.netnsPath}: ${what}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  };
  for (const nic of net.nics) {
    await step(`interface ${nic.name} (${nic.mac})`, () =>
      agent.updateInterface(
        {
          interface: {
            name: nic.name,
            hwAddr: nic.mac,
            mtu: nic.mtu,
            addresses: nic.addresses.map((a) => ({ address: a.address, prefixLength: a.prefixLength })),
          },
        },
        { timeoutMs },
      ),
    );
  }
  if (net.routes.length > 0) {
    await step("routes", () =>
      agent.updateRoutes(
        {
          routes: net.routes.map((r) => ({
            destination: r.destination,
            gateway: r.gateway,
            device: r.device,
            source: r.source,
            scope: r.scope,
          })),
        },
        { timeoutMs },
      ),
    );
  }
  const neighbors = net.neighbors.filter((n) => !n.ipAddress.includes(":"));
  if (neighbors.length < net.neighbors.length)
    opts.log?.warn(
      { skipped: net.neighbors.filter((n) => n.ipAddress.includes(":")).map((n) => n.ipAddress) },
      "IPv6 neighbour entries are not copied to the guest (its busybox cannot set them)",
    );
  if (neighbors.length > 0) {
    await step("neighbours", () =>
      agent.updateNeighbors(
        { neighbors: neighbors.map((n) => ({ ipAddress: n.ipAddress, hwAddr: n.mac, device: n.device })) },
        { timeoutMs },
      ),
    );
  }
}
