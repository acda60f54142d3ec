/**
 * Pod networking end to end with one VM: a netns prepared the way CNI does (veth end eth0 with
 * 10.225.N.2/24, gateway .1 on the host end), the taps attached, the VM started inside the netns,
 * the guest configured through the agent, a busybox httpd container in the pod netns; then the
 * host reaches it through the veth, and the port-forward relay reaches it from 127.0.0.1 inside
 * the host-side netns. Stop leaves no tap, filter or VM. Run under the VM lock.
 */
import { execFileSync } from "node:child_process";
import { randomInt } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Socket } from "node:net";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectTcpInNetns } from "../../native/netns-socket.js";
import { configureGuestNetwork } from "../../shim/network/guest-config.js";
import { attachPodNetwork, type PodNetwork } from "../../shim/network/pod-network.js";
import { PortForwarder } from "../../shim/network/port-forward.js";
import { type AgentVm, baseSpec, bootAgentVm, makeBusyboxRootfs, specBytes } from "../fixtures/agent-vm.js";

const suffix = `${process.pid % 10000}${randomInt(100, 999)}`;
const nsName = `tsktest-vm${suffix}`;
const netnsPath = `/var/run/netns/${nsName}`;
const hostVeth = `tskv${suffix}`;
const subnet = `10.225.${randomInt(1, 254)}`;
const podIp = `${subnet}.2`;
const MTU = 1400;
const PAGE = "served from the guest\n";
const log = pino({ level: "warn" });

let net: PodNetwork | undefined;
let box: AgentVm | undefined;
let forwarder: PortForwarder | undefined;
let vethMac = "";

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8" });
}
function inNs(cmd: string, args: string[]): string {
  return sh("ip", ["netns", "exec", nsName, cmd, ...args]);
}
function linkNames(): string[] {
  return (JSON.parse(inNs("ip", ["-json", "link", "show"])) as { ifname: string }[]).map((l) => l.ifname);
}

/** An HTTP/1.0 GET over a connected socket; resolves with the whole response. */
function httpGet(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      text += d;
    });
    socket.on("error", reject);
    socket.on("close", () => resolve(text));
    socket.write("GET /index.html HTTP/1.0\r\nHost: pod\r\n\r\n");
  });
}

beforeAll(async () => {
  sh("ip", ["netns", "add", nsName]);
  sh("ip", ["link", "add", hostVeth, "type", "veth", "peer", "name", "eth0", "netns", nsName]);
  sh("ip", ["addr", "add", `${subnet}.1/24`, "dev", hostVeth]);
  sh("ip", ["link", "set", hostVeth, "mtu", String(MTU), "up"]);
  inNs("ip", ["link", "set", "lo", "up"]);
  inNs("ip", ["link", "set", "eth0", "mtu", String(MTU), "up"]);
  inNs("ip", ["addr", "add", `${podIp}/24`, "dev", "eth0"]);
  inNs("ip", ["route", "add", "default", "via", `${subnet}.1`]);
  vethMac = (JSON.parse(inNs("ip", ["-json", "link", "show", "eth0"])) as { address: string }[])[0]!.address;

  net = await attachPodNetwork(netnsPath, log);
  box = await bootAgentVm(`net-${suffix}`, 1024, { network: net.vmNetwork });
  await configureGuestNetwork(box.agent, net, { log });

  const rootfs = makeBusyboxRootfs(box.vm.sharedDir, "web");
  const www = join(box.vm.sharedDir, "web/rootfs/www");
  mkdirSync(www, { recursive: true });
  writeFileSync(join(www, "index.html"), PAGE);
  await box.agent.createContainer(
    {
      containerId: "web",
      ociSpecJson: specBytes(baseSpec(["httpd", "-f", "-p", "8080", "-h", "/www"])),
      rootfs: { source: { case: "sharedDir", value: rootfs } },
      stdio: {},
    },
    { timeoutMs: 60_000 },
  );
  await box.agent.startContainer({ containerId: "web" }, { timeoutMs: 60_000 });
}, 150_000);

afterAll(async () => {
  await forwarder?.stop();
  await box?.stop().catch(() => undefined);
  await net?.detach().catch(() => undefined);
  if (box) rmSync(box.stateDir, { recursive: true, force: true });
  try {
    sh("ip", ["netns", "del", nsName]);
  } catch {
    // not created
  }
  try {
    sh("ip", ["link", "del", hostVeth]);
  } catch {
    // went with the netns
  }
}, 60_000);

describe("pod network in a VM", () => {
  it("runs QEMU inside the pod netns and records the netns and taps for crash cleanup", () => {
    const qemuPid = box!.pids.find((pid) => readFileSync(`/proc/${pid}/comm`, "utf8").startsWith("qemu"));
    expect(qemuPid).toBeDefined();
    expect(sh("readlink", [`/proc/${qemuPid}/ns/net`])).toBe(
      `net:[${execFileSync("stat", ["-L", "-c", "%i", netnsPath], { encoding: "utf8" }).trim()}]\n`,
    );
    const record = JSON.parse(
      readFileSync(join(box!.stateDir, "sandboxes", `net-${suffix}`, "resources.json"), "utf8"),
    ) as { network?: unknown };
    expect(record.network).toEqual({ netnsPath, tapNames: ["tsktap0"] });
  });

  it("the guest's pod netns has CNI's interface (MAC, MTU, address) and default route", async () => {
    const { interfaces } = await box!.agent.listInterfaces({}, { timeoutMs: 30_000 });
    expect(interfaces).toEqual([
      expect.objectContaining({
        name: "eth0",
        hwAddr: vethMac,
        mtu: MTU,
        addresses: [expect.objectContaining({ address: podIp, prefixLength: 24 })],
      }),
    ]);
    const { routes } = await box!.agent.listRoutes({}, { timeoutMs: 30_000 });
    expect(routes).toContainEqual(
      expect.objectContaining({ destination: "default", gateway: `${subnet}.1`, device: "eth0" }),
    );
  });

  it("refuses bad guest network input with the bad value named, changing nothing", async () => {
    const badMac = box!.agent.updateInterface(
      { interface: { name: "eth0", hwAddr: "not-a-mac", mtu: MTU, addresses: [] } },
      { timeoutMs: 30_000 },
    );
    await expect(badMac).rejects.toThrow(/ERR_NETWORK_INVALID.*not-a-mac/);
    const v6Neighbor = box!.agent.updateNeighbors(
      { neighbors: [{ ipAddress: "fd00::1", hwAddr: "02:00:00:00:00:01", device: "eth0" }] },
      { timeoutMs: 30_000 },
    );
    await expect(v6Neighbor).rejects.toThrow(/ERR_NETWORK_UNSUPPORTED.*fd00::1/);
    const { interfaces } = await box!.agent.listInterfaces({}, { timeoutMs: 30_000 });
    expect(interfaces.map((i) => i.name)).toEqual(["eth0"]);
  });

  it("the host reaches the container's server at the pod IP through the veth and taps", async () => {
    let body = "";
    for (let attempt = 0; attempt < 60 && body !== PAGE; attempt++) {
      body = await fetch(`http://${podIp}:8080/index.html`, { signal: AbortSignal.timeout(5000) })
        .then((r) => r.text())
        .catch(() => "");
      if (body !== PAGE) await new Promise((r) => setTimeout(r, 500));
    }
    expect(body).toBe(PAGE);
  }, 60_000);

  it("port forward: 127.0.0.1:8080 inside the host-side pod netns reaches the guest's server", async () => {
    forwarder = await PortForwarder.start({ netnsPath, agent: box!.agent, log, pollWaitMs: 2000 });
    const deadline = Date.now() + 30_000;
    while (!forwarder.ports.includes(8080) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    expect(forwarder.ports).toContain(8080);
    // as containerd's PortForward does: a socket in the pod netns dialling localhost
    const socket = new Socket({
      fd: connectTcpInNetns(netnsPath, "127.0.0.1", 8080),
      readable: true,
      writable: true,
    });
    const response = await httpGet(socket);
    expect(response).toMatch(/^HTTP\/1\.[01] 200/);
    expect(response.endsWith(PAGE)).toBe(true);
  }, 60_000);

  it("stop: the relay's listeners close, the VM goes, its teardown removes the tap and redirects", async () => {
    await forwarder!.stop();
    expect(() => connectTcpInNetns(netnsPath, "127.0.0.1", 8080)).toThrow(/ECONNREFUSED/);
    const pids = box!.pids;
    await box!.stop();
    expect(box!.vm.state.kind).toBe("stopped");
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    expect(linkNames()).toEqual(["lo", "eth0"]);
    expect(inNs("tc", ["qdisc", "show", "dev", "eth0"])).not.toMatch(/ingress/);
    await net!.detach(); // idempotent after the VM's own teardown
    expect(inNs("ip", ["-4", "addr", "show", "dev", "eth0"])).toContain(`${podIp}/24`);
  }, 60_000);
});
