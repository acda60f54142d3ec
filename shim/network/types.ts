/** The pod network as CNI left it in the pod's netns, and as it is attached to the VM. */

export interface IpAddress {
  /** IP literal without prefix ("10.224.3.2", "fd00::2"). */
  address: string;
  prefixLength: number;
  family: 4 | 6;
}

export interface NetInterface {
  name: string;
  /** Lower-case colon form, "0a:58:0a:e0:03:02". */
  mac: string;
  mtu: number;
  /** Global (and site) addresses; link-local ones are the guest kernel's own. */
  addresses: IpAddress[];
}

export interface Route {
  /** "default" or a prefix "10.224.3.0/24". */
  destination: string;
  /** Empty for an on-link route. */
  gateway: string;
  device: string;
  /** Preferred source address, empty when none. */
  source: string;
  /** Kernel route scope: 0 universe, 200 site, 253 link, 254 host. */
  scope: number;
  family: 4 | 6;
}

export interface Neighbor {
  ipAddress: string;
  mac: string;
  device: string;
}

/** What `inspectNetns` read from a netns. */
export interface NetnsConfig {
  netnsPath: string;
  interfaces: NetInterface[];
  routes: Route[];
  neighbors: Neighbor[];
}

export interface AttachedNic extends NetInterface {
  /** The tap QEMU opens, in the same netns, redirected to and from the veth. */
  tapName: string;
}

/** The part crash cleanup needs (kept in the sandbox resources record). */
export interface PodNetworkRecord {
  netnsPath: string;
  tapNames: string[];
  /**
   * The netns is the VM's own (QEMU's, where a host hook configured the container's network):
   * it and its taps end with QEMU, and its /proc path must not be used once QEMU is gone.
   */
  ownNetns?: boolean;
}
