import { describe, expect, it } from "vitest";
import {
  parseAddresses,
  parseLinks,
  parseListeningPorts,
  parseRoutes,
} from "../../../agent/network/ip-output.js";

// Recorded from the guest's busybox 1.35 `ip -o link`, `ip -o addr`, `ip route`, `ip -6 route`.
const LINKS = `1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
2: eth0@if5: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1400 qdisc pfifo_fast qlen 1000\\    link/ether 02:FC:00:00:00:01 brd ff:ff:ff:ff:ff:ff
`;
const ADDRS = `1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
1: lo    inet6 ::1/128 scope host \\       valid_lft forever preferred_lft forever
2: eth0    inet 10.225.7.2/24 scope global eth0\\       valid_lft forever preferred_lft forever
2: eth0    inet6 fe80::fc:ff:fe00:1/64 scope link \\       valid_lft forever preferred_lft forever
`;
const ROUTES = `default via 10.225.7.1 dev eth0 
10.225.7.0/24 dev eth0 scope link  src 10.225.7.2 
`;
const ROUTES6 = `fd00::/64 dev eth0  metric 256 
fe80::/64 dev eth0  metric 256 
default via fd00::1 dev eth0  metric 1024 
`;
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1060 1 0 100 0 0 10 0
   1: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1061 1 0 100 0 0 10 0
   2: 02071E0A:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1062 1 0 100 0 0 10 0
   3: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 1063 1 0 100 0 0 10 0
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1388 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0
   1: 000080FE00000000FF0C00FE0100FC00:1389 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0
`;

describe("busybox ip output parsing", () => {
  it("reads links with the @peer suffix stripped and MACs lower-cased", () => {
    expect(parseLinks(LINKS)).toEqual([
      { index: 1, name: "lo", flags: ["LOOPBACK", "UP", "LOWER_UP"], mtu: 65536, mac: "00:00:00:00:00:00" },
      {
        index: 2,
        name: "eth0",
        flags: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
        mtu: 1400,
        mac: "02:fc:00:00:00:01",
      },
    ]);
  });

  it("reads addresses with family, prefix and scope", () => {
    expect(parseAddresses(ADDRS).filter((a) => a.device === "eth0")).toEqual([
      { device: "eth0", family: 4, address: "10.225.7.2", prefixLength: 24, scope: "global" },
      { device: "eth0", family: 6, address: "fe80::fc:ff:fe00:1", prefixLength: 64, scope: "link" },
    ]);
  });

  it("reads IPv4 routes (gateway, link scope, source) and IPv6 routes without the fe80 one", () => {
    expect(parseRoutes(ROUTES)).toEqual([
      { destination: "default", gateway: "10.225.7.1", device: "eth0", source: "", scope: 0 },
      { destination: "10.225.7.0/24", gateway: "", device: "eth0", source: "10.225.7.2", scope: 253 },
    ]);
    expect(parseRoutes(ROUTES6).map((r) => `${r.destination} ${r.gateway}`)).toEqual([
      "fd00::/64 ",
      "default fd00::1",
    ]);
  });
});

describe("listening ports from /proc/net/tcp{,6}", () => {
  it("keeps LISTEN sockets on wildcard or loopback addresses, v4 and v6, not other addresses or connections", () => {
    // 8080 on 0.0.0.0, 80 on 127.0.0.1, 22 on 10.30.7.2 only; 5000 on ::1, 5001 on a link-local
    expect(parseListeningPorts(TCP, TCP6)).toEqual([80, 5000, 8080]);
  });
});
