import { describe, expect, it } from "vitest";
import { NetworkError } from "../../../../shim/network/errors.js";
import { parseAddrShow, parseNeighShow, parseRouteShow } from "../../../../shim/network/iproute-json.js";

// Recorded from iproute2 6.1 (Debian 12) in a netns set up like CNI's bridge plugin does.
const ADDR_SHOW = `[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"mtu":65536,"qdisc":"noqueue","operstate":"UNKNOWN","group":"default","txqlen":1000,"link_type":"loopback","address":"00:00:00:00:00:00","broadcast":"00:00:00:00:00:00","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8,"scope":"host","label":"lo","valid_life_time":4294967295,"preferred_life_time":4294967295},{"family":"inet6","local":"::1","prefixlen":128,"scope":"host","valid_life_time":4294967295,"preferred_life_time":4294967295}]},{"ifindex":2,"link_index":7,"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1450,"qdisc":"noqueue","operstate":"UP","group":"default","txqlen":1000,"link_type":"ether","address":"F2:54:4c:54:cf:ca","broadcast":"ff:ff:ff:ff:ff:ff","link_netnsid":0,"addr_info":[{"family":"inet","local":"10.224.9.2","prefixlen":24,"scope":"global","label":"eth0","valid_life_time":4294967295,"preferred_life_time":4294967295},{"family":"inet6","local":"fd00:9::2","prefixlen":64,"scope":"global","nodad":true,"valid_life_time":4294967295,"preferred_life_time":4294967295},{"family":"inet6","local":"fe80::f054:4cff:fe54:cfca","prefixlen":64,"scope":"link","tentative":true,"valid_life_time":4294967295,"preferred_life_time":4294967295}]}]`;
const ROUTE4 = `[{"dst":"default","gateway":"10.224.9.1","dev":"eth0","flags":[]},{"dst":"10.224.9.0/24","dev":"eth0","protocol":"kernel","scope":"link","prefsrc":"10.224.9.2","flags":[]}]`;
const ROUTE6 = `[{"dst":"fd00:9::/64","dev":"eth0","protocol":"kernel","metric":256,"flags":[],"pref":"medium"},{"dst":"fe80::/64","dev":"eth0","protocol":"kernel","metric":256,"flags":[],"pref":"medium"}]`;
const NEIGH = `[{"dst":"10.224.9.1","dev":"eth0","lladdr":"0a:58:0a:e0:09:01","state":["PERMANENT"]},{"dst":"10.224.9.7","dev":"eth0","lladdr":"0a:58:0a:e0:09:07","state":["REACHABLE"]}]`;

describe("iproute2 JSON parsing", () => {
  it("keeps non-loopback links with MAC (lower-cased), MTU and global addresses only", () => {
    expect(parseAddrShow(ADDR_SHOW)).toEqual([
      {
        name: "eth0",
        mac: "f2:54:4c:54:cf:ca",
        mtu: 1450,
        addresses: [
          { address: "10.224.9.2", prefixLength: 24, family: 4 },
          { address: "fd00:9::2", prefixLength: 64, family: 6 },
        ],
      },
    ]);
  });

  it("reads the default route's gateway and a link route's scope and source", () => {
    expect(parseRouteShow(ROUTE4, 4)).toEqual([
      { destination: "default", gateway: "10.224.9.1", device: "eth0", source: "", scope: 0, family: 4 },
      {
        destination: "10.224.9.0/24",
        gateway: "",
        device: "eth0",
        source: "10.224.9.2",
        scope: 253,
        family: 4,
      },
    ]);
  });

  it("leaves out the kernel's IPv6 link-local route", () => {
    expect(parseRouteShow(ROUTE6, 6).map((r) => r.destination)).toEqual(["fd00:9::/64"]);
  });

  it("keeps permanent neighbours only (what CNI set, not what was learnt)", () => {
    expect(parseNeighShow(NEIGH)).toEqual([
      { ipAddress: "10.224.9.1", mac: "0a:58:0a:e0:09:01", device: "eth0" },
    ]);
  });

  it("treats empty output as no entries", () => {
    expect(parseNeighShow("")).toEqual([]);
  });

  it("rejects output that is not a JSON array, and a link without a MAC, naming it", () => {
    expect(() => parseAddrShow("Error: something")).toThrow(NetworkError);
    expect(() => parseAddrShow(`[{"ifname":"eth1","mtu":1500,"link_type":"ether"}]`)).toThrow(/eth1/);
  });
});
