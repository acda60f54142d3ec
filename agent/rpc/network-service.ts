/**
 * The guest-network and port-forwarding part of tskata.agent.v1.Agent: wire messages to
 * GuestNetwork calls (agent/network). Merged into the Agent service by agent-service.ts.
 */
import type { Agent } from "../../protocol/generated/tskata/agent/v1/agent_pb.js";
import type { ServiceImpl } from "../../protocol/ttrpc/service.js";
import { GuestNetworkError } from "../network/errors.js";
import type { GuestNetwork, InterfaceState } from "../network/guest-network.js";
import type { GuestRoute } from "../network/ip-output.js";

/** Default and ceiling of one ReadConnection answer (ttrpc messages stop at 4 MiB). */
export const DEFAULT_CONNECTION_READ = 256 << 10;
export const MAX_CONNECTION_READ = 1 << 20;
/** Ceiling of one ListListeningPorts long-poll. */
export const MAX_PORTS_WAIT_MS = 60_000;

type NetworkRpcs = Pick<
  ServiceImpl<typeof Agent>,
  | "updateInterface"
  | "updateRoutes"
  | "listInterfaces"
  | "listRoutes"
  | "updateNeighbors"
  | "listListeningPorts"
  | "openConnection"
  | "writeConnection"
  | "readConnection"
  | "closeConnection"
>;

function wireInterface(i: InterfaceState) {
  return { name: i.name, hwAddr: i.mac, mtu: i.mtu, addresses: i.addresses };
}

function wireRoutes(routes: GuestRoute[]) {
  return { routes };
}

export function createNetworkRpcs(network: GuestNetwork): NetworkRpcs {
  return {
    async updateInterface(req) {
      const i = req.interface;
      if (!i) throw new GuestNetworkError("ERR_NETWORK_INVALID", "UpdateInterface: interface is required");
      const state = await network.updateInterface({
        name: i.name,
        mac: i.hwAddr,
        mtu: i.mtu,
        addresses: i.addresses.map((a) => ({ address: a.address, prefixLength: a.prefixLength })),
      });
      return wireInterface(state);
    },
    async updateRoutes(req) {
      const routes = await network.updateRoutes(
        req.routes.map((r) => ({
          destination: r.destination,
          gateway: r.gateway,
          device: r.device,
          source: r.source,
          scope: r.scope,
        })),
      );
      return wireRoutes(routes);
    },
    async listInterfaces() {
      return { interfaces: (await network.listInterfaces()).map(wireInterface) };
    },
    async listRoutes() {
      return wireRoutes(await network.listRoutes());
    },
    async updateNeighbors(req) {
      await network.updateNeighbors(
        req.neighbors.map((n) => ({ ipAddress: n.ipAddress, mac: n.hwAddr, device: n.device })),
      );
      return {};
    },
    async listListeningPorts(req, ctx) {
      const waitMs = Math.min(req.waitMs, MAX_PORTS_WAIT_MS);
      return { ports: await network.waitListeningPorts([...req.known], waitMs, ctx.signal) };
    },
    openConnection(req) {
      return { connectionId: network.openConnection(req.port) };
    },
    async writeConnection(req) {
      return { written: await network.connections.write(req.connectionId, req.data, req.closeWrite) };
    },
    async readConnection(req, ctx) {
      const max = req.maxBytes === 0 ? DEFAULT_CONNECTION_READ : Math.min(req.maxBytes, MAX_CONNECTION_READ);
      return network.connections.read(req.connectionId, max, ctx.signal);
    },
    closeConnection(req) {
      network.connections.close(req.connectionId);
      return {};
    },
  };
}
