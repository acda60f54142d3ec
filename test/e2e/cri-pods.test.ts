/**
 * Kubernetes pods on tskata, driven the way a kubelet drives them: a private containerd 1.6 with
 * its real CRI plugin and Debian's CNI plugins (bridge, host-local, portmap), RuntimeClass
 * handler `tskata`. Each pod is its own VM with the pod's network (CNI's veth redirected to a tap
 * of the VM); two VMs are booted for the whole file (TCG), the rest is CRI calls against them.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContainerState, NamespaceMode, Protocol } from "../../protocol/generated/cri/runtime/v1/api_pb.js";
import { GrpcCallError } from "../support/cri/cri-client.js";
import {
  type CriContainerd,
  criLeftovers,
  processesMentioning,
  startCriContainerd,
} from "../support/cri/cri-containerd.js";
import { kubeletPodConfig, podOps, type SandboxInit, until } from "../support/cri/pod-ops.js";
import { portForwardExchange } from "../support/cri/port-forward.js";
import { leftovers, STATE_DIR } from "../support/leftovers.js";

const MIB = 1024 * 1024;
const BOOT_MS = 180_000;
let h: CriContainerd;
let configPath: string;
let harnessStopped = false;
const podIds: string[] = [];

const { startContainer, exec, containerStatus, podIp } = podOps(() => h.cri);

beforeAll(async () => {
  configPath = join(process.env["TMPDIR"] ?? "/tmp", `tskata-cri-${process.pid}.toml`);
  // TCG whatever the host's KVM: every machine of this kind runs the suite the same way.
  writeFileSync(configPath, `[hypervisor]\naccel = "tcg"\n`);
  h = await startCriContainerd({ tskataConfigPath: configPath, buildShim: true });
}, 120_000);

afterAll(async () => {
  if (h && !harnessStopped) await h.stop().catch(() => undefined);
  if (configPath) rmSync(configPath, { force: true });
}, 120_000);

function podConfig(name: string, extra: Partial<SandboxInit> = {}): SandboxInit {
  return {
    ...kubeletPodConfig(name, h.scratch),
    dnsConfig: { servers: ["10.223.0.53"], searches: ["svc.example"], options: ["ndots:2"] },
    portMappings: [{ protocol: Protocol.TCP, containerPort: 80 }],
    ...extra,
  } as SandboxInit;
}

async function runPod(config: SandboxInit): Promise<string> {
  const { podSandboxId } = await h.cri.runtime.runPodSandbox(
    { config, runtimeHandler: "tskata" },
    { timeoutMs: BOOT_MS },
  );
  podIds.push(podSandboxId);
  return podSandboxId;
}

const httpGet = (target: string) => `wget -q -O - http://${target}/index.html`;

describe("a two-container pod on tskata", () => {
  const pod = () => podConfig("web-pod");
  let podId = "";
  let ip = "";
  let client = "";

  it(
    "RunPodSandbox boots the pod's own VM and CNI's IP is the pod's",
    async () => {
      podId = await runPod(pod());
      ip = await podIp(podId);
      expect(ip.startsWith(h.subnet.replace(/0\/24$/, ""))).toBe(true);
      // one VM for this pod: its sandbox directory holds the QEMU the shim started
      expect(existsSync(join(STATE_DIR, "sandboxes", podId))).toBe(true);
    },
    BOOT_MS,
  );

  it("container A serves HTTP on the pod IP: the host reaches it through the pod's veth and the VM's tap", async () => {
    await startContainer(
      podId,
      pod(),
      "web",
      "mkdir -p /www && echo served-from-the-vm > /www/index.html && echo web-started && exec httpd -f -p 80 -h /www",
    );
    const body = await until("HTTP answer from the pod IP", async () => {
      const res = await fetch(`http://${ip}/index.html`, { signal: AbortSignal.timeout(3000) });
      return res.ok ? await res.text() : undefined;
    });
    expect(body).toBe("served-from-the-vm\n");
  });

  it("container B reaches A over localhost (one pod network shared by the pod's containers)", async () => {
    client = await startContainer(podId, pod(), "client", "sleep 100000");
    const r = await exec(client, httpGet("127.0.0.1"));
    expect(r).toMatchObject({ out: "served-from-the-vm\n", code: 0 });
  });

  it("the containers see the pod's DNS config, hostname and IP; the guest kernel is the VM's", async () => {
    const r = await exec(client, "cat /etc/resolv.conf; echo; hostname; ip -4 -o addr show; uname -r");
    expect(r.out).toContain("nameserver 10.223.0.53");
    expect(r.out).toContain("search svc.example");
    expect(r.out).toContain("options ndots:2");
    expect(r.out).toContain("\nweb-pod\n");
    expect(r.out).toContain(`inet ${ip}/`);
    expect(r.out.trim().split("\n").at(-1)).toMatch(/-cloud-amd64$/);
  });

  it("ExecSync returns stdout, stderr and the exit code", async () => {
    expect(await exec(client, "echo out; echo err >&2; exit 3")).toEqual({
      out: "out\n",
      err: "err\n",
      code: 3,
    });
  });

  it("the container's output lands in its CRI log file in the kubelet's format", async () => {
    const logFile = join(h.scratch, "pods", "web-pod", "web/0.log");
    const line = await until("log line", async () =>
      existsSync(logFile)
        ? readFileSync(logFile, "utf8")
            .split("\n")
            .find((l) => l.endsWith(" stdout F web-started"))
        : undefined,
    );
    expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d) stdout F web-started$/);
  });

  it("PortForward reaches A's port inside the VM (the shim relays the pod netns's localhost into the guest)", async () => {
    const { url } = await h.cri.runtime.portForward({ podSandboxId: podId, port: [80] });
    const r = await until("port-forward answer", async () => {
      const res = await portForwardExchange(url, Buffer.from("GET /index.html HTTP/1.0\r\n\r\n"));
      return res.data.length > 0 ? res : undefined;
    });
    expect(r.data.toString()).toMatch(/^HTTP\/1\.[01] 200 OK\r\n[\s\S]*\r\n\r\nserved-from-the-vm\n$/);
  });

  it("a container with a 256 MiB limit joining the running pod grows the VM; stats report its memory", async () => {
    const memTotal = async () =>
      Number(/MemTotal:\s+(\d+) kB/.exec((await exec(client, "cat /proc/meminfo")).out)?.[1]);
    const before = await memTotal();
    const big = await startContainer(podId, pod(), "big", "sleep 100000", {
      linux: { resources: { memoryLimitInBytes: BigInt(256 * MIB) } },
    });
    const after = await memTotal();
    expect(after - before).toBeGreaterThanOrEqual(250 * 1024);
    const { stats } = await h.cri.runtime.containerStats({ containerId: big });
    expect(Number(stats?.memory?.workingSetBytes?.value ?? 0)).toBeGreaterThan(0);
    expect(Number(stats?.memory?.usageBytes?.value ?? 0)).toBeGreaterThan(0);
    const list = await h.cri.runtime.listContainerStats({ filter: { podSandboxId: podId } });
    expect(list.stats.map((s) => s.attributes?.id)).toContain(big);
  });

  it("StopContainer of a process ignoring SIGTERM ends after the grace period with exit 137", async () => {
    const stubborn = await startContainer(
      podId,
      pod(),
      "stubborn",
      "trap '' TERM; echo ready; while :; do sleep 1; done",
    );
    // "ready" is written after the trap is set: a SIGTERM before that would end the shell at once
    const logFile = join(h.scratch, "pods", "web-pod", "stubborn/0.log");
    await until("stubborn has set its trap", async () =>
      existsSync(logFile) && readFileSync(logFile, "utf8").includes(" stdout F ready") ? true : undefined,
    );
    const t0 = Date.now();
    await h.cri.runtime.stopContainer({ containerId: stubborn, timeout: 2n }, { timeoutMs: 60_000 });
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(2000 + 8000);
    const st = await containerStatus(stubborn);
    expect({ state: st.state, exitCode: st.exitCode }).toEqual({
      state: ContainerState.CONTAINER_EXITED,
      exitCode: 137,
    });
    await h.cri.runtime.removeContainer({ containerId: stubborn });
  });

  it("a container exiting 3 shows exit code 3 in ContainerStatus, and a stopped container can be removed", async () => {
    const three = await startContainer(podId, pod(), "three", "exit 3");
    const st = await until("exit", async () => {
      const s = await containerStatus(three);
      return s.state === ContainerState.CONTAINER_EXITED ? s : undefined;
    });
    expect(st.exitCode).toBe(3);
    await h.cri.runtime.removeContainer({ containerId: three });
    const ids = (await h.cri.runtime.listContainers({ filter: { podSandboxId: podId } })).containers.map(
      (c) => c.id,
    );
    expect(ids).not.toContain(three);
  });

  describe("a second pod at the same time", () => {
    let other = "";
    let otherClient = "";

    it(
      "gets its own VM and IP and reaches the first pod by its IP",
      async () => {
        other = await runPod(podConfig("other-pod"));
        const otherIp = await podIp(other);
        expect(otherIp).not.toBe(ip);
        otherClient = await startContainer(other, podConfig("other-pod"), "client", "sleep 100000");
        const r = await exec(otherClient, httpGet(ip));
        expect(r).toMatchObject({ out: "served-from-the-vm\n", code: 0 });
        const mine = await exec(client, "cat /proc/sys/kernel/random/boot_id");
        const theirs = await exec(otherClient, "cat /proc/sys/kernel/random/boot_id");
        expect(mine.out).not.toBe(theirs.out); // two kernels: two VMs
        const back = await exec(client, `ping -c 1 -W 5 ${otherIp}`);
        expect(back.code).toBe(0);
      },
      BOOT_MS,
    );

    it("stop and remove of the second pod leave no VM, tap, mount, socket or directory", async () => {
      await h.cri.runtime.stopPodSandbox({ podSandboxId: other }, { timeoutMs: 60_000 });
      await h.cri.runtime.removePodSandbox({ podSandboxId: other }, { timeoutMs: 60_000 });
      expect(leftovers(other)).toEqual([]);
      expect(readdirSync("/sys/class/net").filter((n) => n.startsWith("tsktap"))).toEqual([]);
    });
  });

  it("stop and remove of the first pod leave no VM, mount, socket or directory", async () => {
    await h.cri.runtime.stopPodSandbox({ podSandboxId: podId }, { timeoutMs: 60_000 });
    const { status } = await h.cri.runtime.podSandboxStatus({ podSandboxId: podId });
    expect(status?.state).toBe(1); // SANDBOX_NOTREADY
    // the pod's VM stopped with StopPodSandbox, before its containers are removed
    expect(leftovers(podId).filter((l) => l.startsWith("process:"))).toEqual([]);
    await h.cri.runtime.removePodSandbox({ podSandboxId: podId }, { timeoutMs: 60_000 });
    expect(leftovers(podId)).toEqual([]);
    expect((await h.cri.runtime.listContainers({})).containers).toEqual([]);
  });
});

describe("pods tskata refuses, with a clear CRI error and nothing left behind", () => {
  async function refused(config: SandboxInit, handler = "tskata"): Promise<GrpcCallError> {
    const err = await h.cri.runtime
      .runPodSandbox({ config, runtimeHandler: handler }, { timeoutMs: BOOT_MS })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(GrpcCallError);
    expect((await h.cri.runtime.listPodSandbox({})).items.filter((p) => p.state === 0)).toEqual([]);
    return err as GrpcCallError;
  }

  it("an unknown runtime handler is named", async () => {
    expect((await refused(podConfig("bad-handler"), "no-such-handler")).message).toContain("no-such-handler");
  });

  it("a hostNetwork pod: a VM cannot share the host's network", async () => {
    const config = podConfig("host-net");
    config.linux = { securityContext: { namespaceOptions: { network: NamespaceMode.NODE } } };
    const err = await refused(config);
    expect(err.message).toContain("hostNetwork");
  });

  it("an invalid sandbox config (no metadata) is refused by name", async () => {
    const err = await refused({ hostname: "nameless" });
    expect(err.message).toMatch(/metadata/i);
  });

  it("a pod asking for more memory than the host has names both figures", async () => {
    const config = podConfig("too-big", {
      linux: { resources: { memoryLimitInBytes: BigInt(64 * 1024) * BigInt(1024 * MIB) } },
    });
    const err = await refused(config);
    expect(err.message).toMatch(/SANDBOX_RESOURCES_EXCEEDED.*MiB.*more than this host has/);
  });

  it("after every pod: no VM, tap, mount or directory of any pod, and the harness leaves nothing", async () => {
    const sandboxes = existsSync(join(STATE_DIR, "sandboxes"))
      ? readdirSync(join(STATE_DIR, "sandboxes"))
      : [];
    for (const id of podIds) expect(sandboxes).not.toContain(id);
    for (const id of podIds) expect(leftovers(id)).toEqual([]);
    // refused pods started a shim too (containerd's start): none may outlive its pod
    expect(processesMentioning(h.address).filter((p) => p.includes("containerd-shim-tskata-v2"))).toEqual([]);
    harnessStopped = true;
    await h.stop();
    expect(await criLeftovers(h)).toEqual([]);
  }, 120_000);
});
