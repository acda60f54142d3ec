/** Pod networking (host side): the API the sandbox uses. See docs/network.md. */
export { NetworkError, type NetworkErrorCode } from "./errors.js";
export { configureGuestNetwork, type GuestNetworkOptions } from "./guest-config.js";
export { inspectNetns } from "./inspect.js";
export {
  attachConfiguredNetwork,
  attachPodNetwork,
  detachPodNetwork,
  PodNetwork,
  type VmNetwork,
} from "./pod-network.js";
export { PortForwarder, type PortForwarderOptions } from "./port-forward.js";
export type {
  AttachedNic,
  IpAddress,
  Neighbor,
  NetInterface,
  NetnsConfig,
  PodNetworkRecord,
  Route,
} from "./types.js";
