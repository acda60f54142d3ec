/**
 * Host side of pod networking, no VM: a netns made like CNI would (a veth end with an address and
 * a default route), then attach → a tap per interface redirected both ways, detach → nothing left.
 */
import { execFileSync } from "node:child_process";
import { randomInt } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupSandbox, SandboxResources } from "../../shim/hypervisor/sandbox-resources.js";
import { NetworkError } from "../../shim/network/errors.js";
import { attachPodNetwork, detachPodNetwork } from "../../shim/network/pod-network.js";

const suffix = `${process.pid % 10000}${randomInt(100, 999)}`;
const nsName = `tsktest-${suffix}`;
const emptyNsName = `tsktest-e${suffix}`;
const netnsPath = `/var/run/netns/${nsName}`;
const emptyNetnsPath = `/var/run/netns/${emptyNsName}`;
const hostVeth = `tskh${suffix}`;
const subnet = `10.224.${randomInt(1, 254)}`;
const MTU = 1400;

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8" });
}
function inNs(ns: string, cmd: string, args: string[]): string {
  return sh("ip", ["netns", "exec", ns, cmd, ...args]);
}
function links(ns: string): { ifname: string; address: string; mtu: number; flags: string[] }[] {
  return JSON.parse(inNs(ns, "ip", ["-json", "link", "show"]));
}

beforeAll(() => {
  sh("ip", ["netns", "add", nsName]);
  sh("ip", ["netns", "add", emptyNsName]);
  sh("ip", ["link", "add", hostVeth, "type", "veth", "peer", "name", "eth0", "netns", nsName]);
  sh("ip", ["link", "set", hostVeth, "up"]);
  inNs(nsName, "ip", ["link", "set", "lo", "up"]);
  inNs(nsName, "ip", ["link", "set", "eth0", "mtu", String(MTU), "up"]);
  inNs(nsName, "ip", ["addr", "add", `${subnet}.2/30`, "dev", "eth0"]);
  inNs(nsName, "ip", ["route", "add", "default", "via", `${subnet}.1`]);
});

afterAll(() => {
  for (const ns of [nsName, emptyNsName]) {
    try {
      sh("ip", ["netns", "del", ns]);
    } catch {
      // already gone
    }
  }
  try {
    sh("ip", ["link", "del", hostVeth]);
  } catch {
    // went with the netns
  }
});

describe("attachPodNetwork / detach", () => {
  it("adds a tap with the veth's MTU, redirects both ways, reports CNI's config; detach leaves nothing", async () => {
    const veth = links(nsName).find((l) => l.ifname === "eth0")!;
    const net = await attachPodNetwork(netnsPath);
    try {
      expect(net.nics).toEqual([
        {
          name: "eth0",
          mac: veth.address,
          mtu: MTU,
          addresses: [{ address: `${subnet}.2`, prefixLength: 30, family: 4 }],
          tapName: "tsktap0",
        },
      ]);
      expect(net.routes).toContainEqual(
        expect.objectContaining({
          destination: "default",
          gateway: `${subnet}.1`,
          device: "eth0",
          family: 4,
        }),
      );
      expect(net.vmNetwork).toEqual({
        netnsPath,
        nics: [{ tapName: "tsktap0", mac: veth.address, mtu: MTU }],
      });

      const tap = links(nsName).find((l) => l.ifname === "tsktap0");
      expect(tap?.mtu).toBe(MTU);
      expect(tap?.flags).toContain("UP");
      expect(inNs(nsName, "tc", ["qdisc", "show", "dev", "eth0"])).toMatch(/qdisc ingress ffff:/);
      expect(inNs(nsName, "tc", ["qdisc", "show", "dev", "tsktap0"])).toMatch(/qdisc ingress ffff:/);
      expect(inNs(nsName, "tc", ["filter", "show", "dev", "eth0", "ingress"])).toMatch(
        /mirred \(Egress Redirect to device tsktap0\)/,
      );
      expect(inNs(nsName, "tc", ["filter", "show", "dev", "tsktap0", "ingress"])).toMatch(
        /mirred \(Egress Redirect to device eth0\)/,
      );
    } finally {
      await net.detach();
    }
    expect(links(nsName).map((l) => l.ifname)).toEqual(["lo", "eth0"]);
    expect(inNs(nsName, "tc", ["qdisc", "show", "dev", "eth0"])).not.toMatch(/ingress/);
    // the veth keeps CNI's configuration
    expect(inNs(nsName, "ip", ["-4", "addr", "show", "dev", "eth0"])).toContain(`${subnet}.2/30`);
  });

  it("crash cleanup from the record alone (no veth names) removes the redirects and taps", async () => {
    const net = await attachPodNetwork(netnsPath);
    await detachPodNetwork(net.record);
    expect(links(nsName).map((l) => l.ifname)).toEqual(["lo", "eth0"]);
    expect(inNs(nsName, "tc", ["qdisc", "show", "dev", "eth0"])).not.toMatch(/ingress/);
  });

  it("a shim crash's delete (cleanupSandbox from resources.json) removes the recorded taps and redirects", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "tsk-netres-"));
    try {
      const net = await attachPodNetwork(netnsPath);
      const resources = await SandboxResources.create(stateDir, "netcrash");
      await resources.setNetwork(net.record);
      // a new process would only have the record: load it as `delete` does
      const report = await cleanupSandbox(stateDir, "netcrash");
      expect(report?.network).toContain("tsktap0");
      expect(links(nsName).map((l) => l.ifname)).toEqual(["lo", "eth0"]);
      expect(inNs(nsName, "tc", ["qdisc", "show", "dev", "eth0"])).not.toMatch(/ingress/);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it("detach tolerates a netns that is gone already", async () => {
    await expect(
      detachPodNetwork({ netnsPath: "/var/run/netns/tsktest-never-existed", tapNames: ["tsktap0"] }),
    ).resolves.toBeUndefined();
  });

  it("refuses a netns with no interface besides lo, creating nothing", async () => {
    const err = await attachPodNetwork(emptyNetnsPath).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).code).toBe("NETWORK_NO_INTERFACES");
    expect((err as Error).message).toContain(emptyNetnsPath);
    expect(links(emptyNsName).map((l) => l.ifname)).toEqual(["lo"]);
  });

  it("refuses a path that does not exist, naming it", async () => {
    const bad = "/var/run/netns/tsktest-missing";
    const err = await attachPodNetwork(bad).catch((e: unknown) => e);
    expect((err as NetworkError).code).toBe("NETWORK_NETNS_INVALID");
    expect((err as Error).message).toContain(bad);
  });

  it("refuses a file that is not a netns, and the host's own netns", async () => {
    const notNs = await attachPodNetwork("/etc/hostname").catch((e: unknown) => e);
    expect((notNs as NetworkError).code).toBe("NETWORK_NETNS_INVALID");
    const host = await attachPodNetwork(`/proc/${process.pid}/ns/net`).catch((e: unknown) => e);
    expect((host as NetworkError).code).toBe("NETWORK_HOST_NETNS");
  });

  it("undoes a partial attach: an ingress qdisc already on the veth fails the attach, the tap is removed", async () => {
    inNs(nsName, "tc", ["qdisc", "add", "dev", "eth0", "ingress"]);
    try {
      const err = await attachPodNetwork(netnsPath).catch((e: unknown) => e);
      expect((err as NetworkError).code).toBe("NETWORK_ATTACH_FAILED");
      expect((err as Error).message).toContain("eth0");
      expect(links(nsName).map((l) => l.ifname)).toEqual(["lo", "eth0"]);
    } finally {
      inNs(nsName, "tc", ["qdisc", "del", "dev", "eth0", "ingress"]);
    }
  });
});
