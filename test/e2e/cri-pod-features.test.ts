/**
 * What Kubernetes pods ask of the guest, on tskata through containerd 1.6's real CRI plugin and
 * Debian's CNI plugins (RuntimeClass handler `tskata`): a shared process namespace, privileged
 * containers (all capabilities, the guest's devices, writable sysfs/procfs), added and dropped
 * capabilities, the sandbox's sysctls, interactive exec through the CRI streaming server, host
 * and container port mappings, and what a VM refuses (host PID/IPC namespaces, host→container
 * mount propagation). One pod VM for the whole file (TCG); the refused pods boot none.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ContainerState,
  MountPropagation,
  NamespaceMode,
  Protocol,
} from "../../protocol/generated/cri/runtime/v1/api_pb.js";
import { GrpcCallError } from "../support/cri/cri-client.js";
import {
  type CriContainerd,
  criLeftovers,
  processesMentioning,
  startCriContainerd,
} from "../support/cri/cri-containerd.js";
import { exitCodeOf, openExecStream } from "../support/cri/exec-stream.js";
import { podOps, type SandboxInit, until } from "../support/cri/pod-ops.js";
import { leftovers, STATE_DIR } from "../support/leftovers.js";

const BOOT_MS = 180_000;
const HOST_PORT = 20_000 + Math.floor(Math.random() * 10_000);
let h: CriContainerd;
let configPath: string;
let harnessStopped = false;
const podIds: string[] = [];

const { createContainer, startContainer, exec, containerStatus } = podOps(() => h.cri);

beforeAll(async () => {
  configPath = join(process.env["TMPDIR"] ?? "/tmp", `tskata-cri-features-${process.pid}.toml`);
  // TCG whatever the host's KVM: every machine of this kind runs the suite the same way.
  writeFileSync(configPath, `[hypervisor]\naccel = "tcg"\n`);
  h = await startCriContainerd({ tskataConfigPath: configPath, buildShim: true });
}, 120_000);

afterAll(async () => {
  if (h && !harnessStopped) await h.stop().catch(() => undefined);
  if (configPath && existsSync(configPath)) rmSync(configPath, { force: true });
}, 120_000);

/** The pod of this file: shared process namespace, privileged allowed, sysctls, two port mappings. */
function featuresPod(): SandboxInit {
  return {
    metadata: { name: "features-pod", namespace: "default", uid: "uid-features-pod", attempt: 0 },
    hostname: "features-pod",
    logDirectory: join(h.scratch, "pods", "features-pod"),
    portMappings: [
      { protocol: Protocol.TCP, containerPort: 80, hostPort: HOST_PORT, hostIp: "127.0.0.1" },
      { protocol: Protocol.TCP, containerPort: 8080 },
    ],
    linux: {
      sysctls: {
        "net.ipv4.ip_unprivileged_port_start": "101",
        "kernel.shm_rmid_forced": "1",
        "net.core.somaxconn": "1234",
        "net.ipv4.tcp_syncookies": "0",
      },
      securityContext: {
        privileged: true,
        namespaceOptions: {
          network: NamespaceMode.POD,
          pid: NamespaceMode.POD,
          ipc: NamespaceMode.POD,
        },
      },
    },
  } as SandboxInit;
}

function namespaces(pid: NamespaceMode, ipc = NamespaceMode.POD) {
  return { network: NamespaceMode.POD, pid, ipc };
}

/** The effective capability mask of the container's shell, as /proc/self/status prints it. */
async function capEff(containerId: string): Promise<bigint> {
  const r = await exec(containerId, "grep CapEff /proc/self/status");
  return BigInt(`0x${/CapEff:\s+([0-9a-f]+)/.exec(r.out)?.[1]}`);
}

const CAP_CHOWN = 0n;
const CAP_NET_ADMIN = 12n;
const CAP_SYS_ADMIN = 21n;
const has = (mask: bigint, cap: bigint) => (mask >> cap) & 1n;

/** Every block and char device node in /dev (not /dev/pts), as `name major:minor` lines, decimal. */
const LIST_DEVICES = `for d in $(find /dev -path /dev/pts -prune -o \\( -type b -o -type c \\) -print); do
  echo "$d $(printf '%d:%d' 0x$(stat -c %t "$d") 0x$(stat -c %T "$d"))"; done`;

describe("a pod's features honoured inside its VM", () => {
  const pod = featuresPod;
  let podId = "";
  let ip = "";
  let web = "";
  let peer = "";

  it(
    "RunPodSandbox boots the pod (shared process namespace, privileged, sysctls, port mappings)",
    async () => {
      const r = await h.cri.runtime.runPodSandbox(
        { config: pod(), runtimeHandler: "tskata" },
        { timeoutMs: BOOT_MS },
      );
      podId = r.podSandboxId;
      podIds.push(podId);
      const { status } = await h.cri.runtime.podSandboxStatus({ podSandboxId: podId });
      ip = status?.network?.ip ?? "";
      expect(ip).toMatch(/^10\.223\./);
      web = await startContainer(
        podId,
        pod(),
        "web",
        "mkdir -p /www && echo served-from-the-vm > /www/index.html && httpd -p 8080 -h /www && exec httpd -f -p 80 -h /www",
        { linux: { securityContext: { namespaceOptions: namespaces(NamespaceMode.POD) } } },
      );
    },
    BOOT_MS,
  );

  it("shareProcessNamespace: a container in the pod's pid namespace sees the other containers' processes and the pause", async () => {
    peer = await startContainer(podId, pod(), "peer", "sleep 100000", {
      linux: { securityContext: { namespaceOptions: namespaces(NamespaceMode.POD) } },
    });
    const ps = await until("httpd visible", async () => {
      const r = await exec(peer, "ps -o pid,args");
      return r.out.includes("httpd -f -p 80") ? r.out : undefined;
    });
    expect(ps).toContain("sleep 2147483647"); // the pod's pause
    expect(ps).toContain("sleep 100000"); // its own
  });

  it("a container with its own pid namespace (CONTAINER) in the same pod does not see them", async () => {
    const alone = await startContainer(podId, pod(), "alone", "sleep 100001", {
      linux: { securityContext: { namespaceOptions: namespaces(NamespaceMode.CONTAINER) } },
    });
    const r = await exec(alone, "ps -o pid,args");
    expect(r.out).toContain("sleep 100001");
    expect(r.out).not.toContain("httpd");
    expect(r.out).not.toContain("sleep 2147483647");
    expect(r.out).toMatch(/^\s*1\s+sleep 100001$/m); // its own process is pid 1
  });

  describe("a privileged container", () => {
    let priv = "";

    it("has every capability the guest kernel knows in CapEff", async () => {
      priv = await startContainer(podId, pod(), "privileged", "sleep 100000", {
        linux: {
          securityContext: { privileged: true, namespaceOptions: namespaces(NamespaceMode.POD) },
        },
      });
      const lastCap = BigInt((await exec(priv, "cat /proc/sys/kernel/cap_last_cap")).out.trim());
      expect((await capEff(priv)).toString(16)).toBe(((1n << (lastCap + 1n)) - 1n).toString(16));
    });

    it("can write /proc/sys and remount /sys read-write", async () => {
      const r = await exec(
        priv,
        "echo 1 > /proc/sys/net/ipv4/ip_forward && cat /proc/sys/net/ipv4/ip_forward && mount -o remount,rw /sys && grep ' /sys ' /proc/mounts",
      );
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^1\nsysfs \/sys sysfs rw[,\s]/);
    });

    it("gets the guest's devices (its block devices appear in /dev), none of the host's", async () => {
      const r = await exec(
        priv,
        `ls /sys/block; echo ---; ${LIST_DEVICES}; echo ---; ls /sys/dev/block /sys/dev/char`,
      );
      const [blockText, devText, sysText] = r.out.split("---\n");
      const guestBlocks = blockText!
        .trim()
        .split(/\s+/)
        .filter((b) => !/^(loop|ram)/.test(b));
      expect(guestBlocks.length).toBeGreaterThan(0);
      const devices = devText!
        .trim()
        .split("\n")
        .map((l) => l.split(" ") as [string, string]);
      const paths = devices.map(([p]) => p);
      for (const b of guestBlocks) expect(paths).toContain(`/dev/${b}`);
      // every node in /dev is a device this guest kernel has (its sysfs lists it by major:minor)
      const guestNumbers = new Set(sysText!.split(/\s+/).filter((s) => /^\d+:\d+$/.test(s)));
      expect(devices.filter(([, n]) => !guestNumbers.has(n))).toEqual([]);
      // and the same node does not exist for an unprivileged container
      const plain = await exec(peer, `ls /dev/${guestBlocks[0]} 2>&1`);
      expect(plain.code).not.toBe(0);
    });

    it("an unprivileged container keeps a read-only /sys and no SYS_ADMIN", async () => {
      const r = await exec(peer, "grep ' /sys ' /proc/mounts");
      expect(r.out).toMatch(/^sysfs \/sys sysfs ro[,\s]/);
      expect(has(await capEff(peer), CAP_SYS_ADMIN)).toBe(0n);
    });
  });

  it("capabilities: an added NET_ADMIN appears in CapEff and a dropped CHOWN does not", async () => {
    const before = await capEff(peer);
    expect({ netAdmin: has(before, CAP_NET_ADMIN), chown: has(before, CAP_CHOWN) }).toEqual({
      netAdmin: 0n,
      chown: 1n,
    });
    const caps = await startContainer(podId, pod(), "caps", "sleep 100000", {
      linux: {
        securityContext: {
          capabilities: { addCapabilities: ["NET_ADMIN"], dropCapabilities: ["CHOWN"] },
          namespaceOptions: namespaces(NamespaceMode.POD),
        },
      },
    });
    const after = await capEff(caps);
    expect({ netAdmin: has(after, CAP_NET_ADMIN), chown: has(after, CAP_CHOWN) }).toEqual({
      netAdmin: 1n,
      chown: 0n,
    });
    // NET_ADMIN works: the container may change its pod's interfaces (a dummy-free check: lo's mtu)
    expect((await exec(caps, "ip link set lo mtu 65535 && echo ok")).out).toBe("ok\n");
    expect((await exec(caps, "chown 1:1 /tmp 2>&1; echo $?")).out.trim().split("\n").at(-1)).not.toBe("0");
  });

  it("the sandbox's safe and unsafe sysctls are applied in the guest, as an app container sees them", async () => {
    const r = await exec(
      peer,
      "cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/shm_rmid_forced /proc/sys/net/core/somaxconn /proc/sys/net/ipv4/tcp_syncookies",
    );
    expect(r.out.split("\n").slice(0, 4)).toEqual(["101", "1", "1234", "0"]);
  });

  describe("Exec through the CRI streaming server (WebSocket, v4.channel.k8s.io)", () => {
    it("tty=true stdin=true: a shell reads stdin, writes on a /dev/pts terminal, and its exit code 5 is the status", async () => {
      const { url } = await h.cri.runtime.exec({
        containerId: peer,
        cmd: ["sh"],
        tty: true,
        stdin: true,
        stdout: true,
      });
      const session = await openExecStream(url);
      session.resize(100, 30);
      session.write("echo $((6*7)); tty; exit 5\n");
      const r = await session.done;
      expect(r.stdout).toMatch(/(^|\n)42\r?\n/);
      expect(r.stdout).toMatch(/\/dev\/pts\/\d+\r?\n/);
      expect(r.status).toEqual({
        metadata: {},
        status: "Failure",
        message: "command terminated with non-zero exit code: error executing command [sh], exit code 5",
        reason: "NonZeroExitCode",
        details: { causes: [{ reason: "ExitCode", message: "5" }] },
      });
      expect(exitCodeOf(r.status)).toBe(5);
    });

    it("stdin without a tty: cat echoes what was sent and ends when stdin closes", async () => {
      const { url } = await h.cri.runtime.exec({
        containerId: peer,
        cmd: ["sh", "-c", "cat; echo stdin-ended > /tmp/cat-ended"],
        stdin: true,
        stdout: true,
        stderr: true,
      });
      const session = await openExecStream(url);
      session.write("hello over stdin\n");
      expect(await session.waitForStdout("hello over stdin\n")).toBe("hello over stdin\n");
      session.close();
      await session.done;
      const ended = await until("cat ended", async () => {
        const r = await exec(peer, "cat /tmp/cat-ended");
        return r.code === 0 ? r.out : undefined;
      });
      expect(ended).toBe("stdin-ended\n");
    });
  });

  describe("port mappings", () => {
    it("hostPort: the host's 127.0.0.1 port reaches the container's port 80 in the VM (portmap DNAT, then veth→tap)", async () => {
      const body = await until("HTTP through the host port", async () => {
        const res = await fetch(`http://127.0.0.1:${HOST_PORT}/index.html`, {
          signal: AbortSignal.timeout(3000),
        });
        return res.ok ? await res.text() : undefined;
      });
      expect(body).toBe("served-from-the-vm\n");
    });

    it("a container-port-only mapping (no hostPort) serves on the pod IP", async () => {
      const res = await fetch(`http://${ip}:8080/index.html`, { signal: AbortSignal.timeout(5000) });
      expect(await res.text()).toBe("served-from-the-vm\n");
    });
  });

  describe("mount propagation from the host", () => {
    let shared = "";

    beforeAll(() => {
      // containerd itself requires a shared (or slave) source for these propagations
      shared = join(h.scratch, "propagation-source");
      mkdirSync(shared, { recursive: true });
      execFileSync("mount", ["--bind", shared, shared]);
      execFileSync("mount", ["--make-rshared", shared]);
    });

    afterAll(() => {
      if (shared) execFileSync("umount", [shared]);
      rmSync(shared, { recursive: true, force: true });
    });

    for (const [propagation, name] of [
      [MountPropagation.PROPAGATION_BIDIRECTIONAL, "Bidirectional"],
      [MountPropagation.PROPAGATION_HOST_TO_CONTAINER, "HostToContainer"],
    ] as const) {
      it(`a ${name} mount is refused when the container starts, naming the mount`, async () => {
        // CreateContainer only records the container in containerd; the shim sees it at start
        const id = await createContainer(podId, pod(), `propagation-${name.toLowerCase()}`, "sleep 1", {
          mounts: [{ containerPath: "/from-host", hostPath: shared, propagation }],
          linux: { securityContext: { namespaceOptions: namespaces(NamespaceMode.POD) } },
        });
        const err = await h.cri.runtime.startContainer({ containerId: id }, { timeoutMs: 60_000 }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(GrpcCallError);
        expect((err as Error).message).toMatch(
          /mount \/from-host asks for r(shared|slave) propagation from the host/,
        );
        expect((await containerStatus(id)).state).not.toBe(ContainerState.CONTAINER_RUNNING);
        await h.cri.runtime.removeContainer({ containerId: id });
        const ids = (await h.cri.runtime.listContainers({ filter: { podSandboxId: podId } })).containers.map(
          (c) => c.id,
        );
        expect(ids).not.toContain(id);
      });
    }
  });

  it("a stopped container is removed; after StopPodSandbox, ContainerStatus still answers with the exit code", async () => {
    const seven = await startContainer(podId, pod(), "seven", "exit 7", {
      linux: { securityContext: { namespaceOptions: namespaces(NamespaceMode.POD) } },
    });
    const removed = await startContainer(podId, pod(), "removed", "exit 0", {
      linux: { securityContext: { namespaceOptions: namespaces(NamespaceMode.POD) } },
    });
    for (const id of [seven, removed])
      await until("exit", async () =>
        (await containerStatus(id)).state === ContainerState.CONTAINER_EXITED ? true : undefined,
      );
    await h.cri.runtime.removeContainer({ containerId: removed });
    const ids = (await h.cri.runtime.listContainers({ filter: { podSandboxId: podId } })).containers.map(
      (c) => c.id,
    );
    expect(ids).not.toContain(removed);

    await h.cri.runtime.stopPodSandbox({ podSandboxId: podId }, { timeoutMs: 60_000 });
    expect(leftovers(podId).filter((l) => l.startsWith("process:"))).toEqual([]); // the VM is gone
    const st = await containerStatus(seven);
    expect({ state: st.state, exitCode: st.exitCode }).toEqual({
      state: ContainerState.CONTAINER_EXITED,
      exitCode: 7,
    });
    const webSt = await containerStatus(web);
    expect(webSt.state).toBe(ContainerState.CONTAINER_EXITED);
    await h.cri.runtime.removeContainer({ containerId: seven });
    await h.cri.runtime.removePodSandbox({ podSandboxId: podId }, { timeoutMs: 60_000 });
    expect(leftovers(podId)).toEqual([]);
  });
});

describe("pods asking for the host's namespaces are refused through CRI", () => {
  async function refused(pid: NamespaceMode, ipc: NamespaceMode, name: string): Promise<string> {
    const config = featuresPod();
    config.metadata = { name, namespace: "default", uid: `uid-${name}`, attempt: 0 };
    config.hostname = name;
    config.portMappings = [];
    config.linux = { securityContext: { namespaceOptions: { network: NamespaceMode.POD, pid, ipc } } };
    const err = await h.cri.runtime
      .runPodSandbox({ config, runtimeHandler: "tskata" }, { timeoutMs: BOOT_MS })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(GrpcCallError);
    expect((await h.cri.runtime.listPodSandbox({})).items.filter((p) => p.state === 0)).toEqual([]);
    return (err as Error).message;
  }

  it("hostPID: the pod is refused, naming hostPID", async () => {
    expect(await refused(NamespaceMode.NODE, NamespaceMode.POD, "host-pid")).toContain("hostPID");
  });

  it("hostIPC: the pod is refused, naming hostIPC", async () => {
    expect(await refused(NamespaceMode.POD, NamespaceMode.NODE, "host-ipc")).toContain("hostIPC");
  });

  it("after every pod: no VM, tap, mount or directory, and the harness leaves nothing", async () => {
    const sandboxes = existsSync(join(STATE_DIR, "sandboxes"))
      ? readdirSync(join(STATE_DIR, "sandboxes"))
      : [];
    for (const id of podIds) expect(sandboxes).not.toContain(id);
    for (const id of podIds) expect(leftovers(id)).toEqual([]);
    expect(readdirSync("/sys/class/net").filter((n) => n.startsWith("tsktap"))).toEqual([]);
    expect(processesMentioning(h.address).filter((p) => p.includes("containerd-shim-tskata-v2"))).toEqual([]);
    harnessStopped = true;
    await h.stop();
    expect(await criLeftovers(h)).toEqual([]);
  }, 120_000);
});
