/**
 * The CRI test harness, proved with the runc handler (no VM): a private containerd 1.6 whose CRI
 * plugin is driven over gRPC the way a kubelet drives it, pods on a CNI bridge of their own, the
 * kubelet's log format, exec, pod-to-pod traffic, a bad runtime handler, and a teardown that
 * leaves nothing on the host.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Protocol } from "../../protocol/generated/cri/runtime/v1/api_pb.js";
import { Code } from "../../protocol/ttrpc/codes.js";
import { GrpcCallError } from "../support/cri/cri-client.js";
import {
  type CriContainerd,
  criLeftovers,
  networkMarks,
  startCriContainerd,
} from "../support/cri/cri-containerd.js";
import { firewallRulesMentioning } from "../support/cri/host-firewall.js";
import { kubeletPodConfig, podOps, type SandboxInit } from "../support/cri/pod-ops.js";
import { portForwardExchange } from "../support/cri/port-forward.js";

let h: CriContainerd;
const hostPort = 20_000 + Math.floor(Math.random() * 10_000);
let stopped = false;
const { startContainer } = podOps(() => h.cri);

beforeAll(async () => {
  h = await startCriContainerd();
}, 60_000);
afterAll(async () => {
  if (h && !stopped) await h.stop();
});

/** `hostPort`: also publish container port 80 on the host's 127.0.0.1 (portmap: iptables DNAT). */
function podConfig(name: string, hostPort = 0): SandboxInit {
  return {
    ...kubeletPodConfig(name, h.scratch),
    dnsConfig: { servers: ["10.223.0.53"], searches: ["svc.example"], options: ["ndots:2"] },
    portMappings: [
      { protocol: Protocol.TCP, containerPort: 80, ...(hostPort ? { hostPort, hostIp: "127.0.0.1" } : {}) },
    ],
  } as SandboxInit;
}

async function waitFor<T>(what: string, probe: () => T | undefined, withinMs = 5000): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("CRI harness with the runc handler", () => {
  let pod1: SandboxInit;
  let pod1Id = "";
  let pod1Ip = "";
  let helloId = "";

  it("answers Version as containerd speaking CRI v1", async () => {
    const v = await h.cri.runtime.version({ version: "v1" });
    expect(v.runtimeName).toBe("containerd");
    expect(v.runtimeApiVersion).toBe("v1");
    expect(v.runtimeVersion).toMatch(/^1\.6\./);
  });

  it("runs a pod whose IP CNI took from the harness's own subnet", async () => {
    pod1 = podConfig("pod-one", hostPort);
    pod1Id = (await h.cri.runtime.runPodSandbox({ config: pod1, runtimeHandler: "runc" })).podSandboxId;
    const { status } = await h.cri.runtime.podSandboxStatus({ podSandboxId: pod1Id });
    pod1Ip = status?.network?.ip ?? "";
    const prefix = h.subnet.replace(/0\/24$/, "");
    expect(pod1Ip.startsWith(prefix)).toBe(true);
    expect(pod1Ip).not.toBe(`${prefix}1`);
    expect(status?.runtimeHandler).toBe("runc");
  });

  it("starts a container whose output lands in the CRI log in the kubelet's format", async () => {
    helloId = await startContainer(pod1Id, pod1, "hello", "echo hello; sleep 1000");
    const logFile = join(pod1.logDirectory as string, "hello/0.log");
    const line = await waitFor("log line", () => {
      const text = existsSync(logFile) ? readFileSync(logFile, "utf8") : "";
      return text.split("\n").find((l) => l.endsWith(" stdout F hello"));
    });
    expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d) stdout F hello$/);
  });

  it("ExecSync returns a command's stdout and exit code", async () => {
    const r = await h.cri.runtime.execSync({ containerId: helloId, cmd: ["echo", "hi"], timeout: 10n });
    expect({ stdout: Buffer.from(r.stdout).toString(), exitCode: r.exitCode }).toEqual({
      stdout: "hi\n",
      exitCode: 0,
    });
    const failing = await h.cri.runtime.execSync({
      containerId: helloId,
      cmd: ["sh", "-c", "exit 3"],
      timeout: 10n,
    });
    expect(failing.exitCode).toBe(3);
  });

  it("the pod's DNS config and hostname reach the container", async () => {
    const r = await h.cri.runtime.execSync({
      containerId: helloId,
      cmd: ["sh", "-c", "cat /etc/resolv.conf; hostname"],
    });
    const out = Buffer.from(r.stdout).toString();
    expect(out).toContain("nameserver 10.223.0.53");
    expect(out).toContain("search svc.example");
    expect(out).toContain("options ndots:2");
    expect(out.trim().endsWith("pod-one")).toBe(true);
  });

  it("a second pod reaches an HTTP server in the first pod by its pod IP", async () => {
    await startContainer(
      pod1Id,
      pod1,
      "web",
      "mkdir -p /www && echo served-by-pod-one > /www/index.html && exec httpd -f -p 80 -h /www",
    );
    const pod2 = podConfig("pod-two");
    const pod2Id = (await h.cri.runtime.runPodSandbox({ config: pod2, runtimeHandler: "runc" })).podSandboxId;
    try {
      const clientId = await startContainer(pod2Id, pod2, "client", "sleep 1000");
      // No `wget -T`: Debian's busybox-static wget segfaults with it; ExecSync's timeout bounds the call.
      const fetch = () =>
        h.cri.runtime.execSync({
          containerId: clientId,
          cmd: ["wget", "-q", "-O", "-", `http://${pod1Ip}/index.html`],
          timeout: 5n,
        });
      let r = await fetch();
      for (let i = 0; i < 20 && r.exitCode !== 0; i++) {
        await new Promise((res) => setTimeout(res, 200));
        r = await fetch();
      }
      expect({ exitCode: r.exitCode, body: Buffer.from(r.stdout).toString() }).toEqual({
        exitCode: 0,
        body: "served-by-pod-one\n",
      });
    } finally {
      await h.cri.runtime.stopPodSandbox({ podSandboxId: pod2Id });
      await h.cri.runtime.removePodSandbox({ podSandboxId: pod2Id });
    }
  });

  it("the pod's host port on 127.0.0.1 reaches its server through portmap's iptables rules", async () => {
    const rules = await firewallRulesMentioning(networkMarks(h));
    expect(rules.some((r) => r.includes(`--to-destination ${pod1Ip}:80`))).toBe(true);
    const res = await fetch(`http://127.0.0.1:${hostPort}/index.html`, { signal: AbortSignal.timeout(5000) });
    expect(await res.text()).toBe("served-by-pod-one\n");
  });

  it("PortForward through containerd's streaming server reaches the pod's port", async () => {
    const { url } = await h.cri.runtime.portForward({ podSandboxId: pod1Id, port: [80] });
    const r = await portForwardExchange(url, Buffer.from("GET /index.html HTTP/1.0\r\n\r\n"));
    expect(r.error).toBe("");
    expect(r.data.toString()).toMatch(/^HTTP\/1\.[01] 200 OK\r\n[\s\S]*\r\n\r\nserved-by-pod-one\n$/);
  });

  it("StopPodSandbox and RemovePodSandbox remove the pod and its containers", async () => {
    await h.cri.runtime.stopPodSandbox({ podSandboxId: pod1Id });
    const { status } = await h.cri.runtime.podSandboxStatus({ podSandboxId: pod1Id });
    expect(status?.state).toBe(1); // SANDBOX_NOTREADY
    await h.cri.runtime.removePodSandbox({ podSandboxId: pod1Id });
    expect((await h.cri.runtime.listPodSandbox({})).items).toEqual([]);
    expect((await h.cri.runtime.listContainers({})).containers).toEqual([]);
    await expect(h.cri.runtime.podSandboxStatus({ podSandboxId: pod1Id })).rejects.toMatchObject({
      code: Code.NOT_FOUND,
    });
  });

  it("rejects an unknown runtime handler by name and creates nothing", async () => {
    const err = await h.cri.runtime
      .runPodSandbox({ config: podConfig("pod-bad"), runtimeHandler: "no-such-handler" })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(GrpcCallError);
    expect((err as GrpcCallError).message).toContain("no-such-handler");
    expect((await h.cri.runtime.listPodSandbox({})).items).toEqual([]);
  });

  it("teardown leaves no bridge, CNI iptables rule, containerd process or temp dir", async () => {
    stopped = true;
    await h.stop();
    expect(await criLeftovers(h)).toEqual([]);
  });
});
