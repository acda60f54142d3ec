/**
 * Kubernetes pods from the warm VM pool: a private containerd with CRI and CNI (bridge) and a
 * running `tskata pool serve`. RunPodSandbox adopts the pool's idle VM (no boot): the pod's NIC is
 * hotplugged into it (tap opened in the pod netns, fd passed to QEMU over QMP), the guest gets
 * CNI's address, and a container serving HTTP is reached from the host at the pod IP. The pool
 * refills; stop/remove leaves no QEMU, virtiofsd, tap, mount or directory. Without the pool the
 * same pod boots cold; both start times are printed (RunPodSandbox → container running). VMs run
 * under TCG: the pool's VM, its refill and the cold pod's.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Protocol } from "../../protocol/generated/cri/runtime/v1/api_pb.js";
import { connectPool } from "../../shim/pool/pool-client.js";
import { type CriContainerd, startCriContainerd } from "../support/cri/cri-containerd.js";
import { kubeletPodConfig, podOps, type SandboxInit, until } from "../support/cri/pod-ops.js";
import { leftovers, STATE_DIR, sandboxProcesses } from "../support/leftovers.js";

const VM_MS = 240_000;
const SOCKET = join(STATE_DIR, "cwp-test.sock");
const repo = join(import.meta.dirname, "../..");

let h: CriContainerd;
let configPath: string;
let pool: ChildProcess | undefined;
let poolLog = "";
const { startContainer } = podOps(() => h.cri);
const podIds: string[] = [];

interface ResourcesRecord {
  sandboxId: string;
  processes: { role: string; pid: number }[];
  network?: { netnsPath: string; tapNames: string[] };
}

function startPool(): ChildProcess {
  const child = spawn(
    process.execPath,
    [join(repo, "dist/cli/main.js"), "pool", "serve", "--config", configPath],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  child.stderr?.setEncoding("utf8").on("data", (s: string) => {
    poolLog += s;
  });
  return child;
}

async function poolStatus() {
  const client = connectPool(SOCKET);
  try {
    return await client.api.status({}, { timeoutMs: 5000 });
  } finally {
    client.close();
  }
}

const idleVms = async () => {
  const idle = (await poolStatus()).vms.filter((v) => v.state === "idle");
  return idle.length > 0 ? idle : undefined;
};

function podConfig(name: string): SandboxInit {
  return {
    ...kubeletPodConfig(name, h.scratch),
    portMappings: [{ protocol: Protocol.TCP, containerPort: 80 }],
  } as SandboxInit;
}

const WEB = "mkdir -p /www && echo served-from-the-pod > /www/index.html && exec httpd -f -p 80 -h /www";

/** RunPodSandbox + a web container started in it; the time from the call to the container running. */
async function startWebPod(name: string): Promise<{ podId: string; ms: number; ip: string }> {
  const t0 = performance.now();
  const { podSandboxId } = await h.cri.runtime.runPodSandbox(
    { config: podConfig(name), runtimeHandler: "tskata" },
    { timeoutMs: VM_MS },
  );
  podIds.push(podSandboxId);
  await startContainer(podSandboxId, podConfig(name), "web", WEB);
  const ms = performance.now() - t0;
  const { status } = await h.cri.runtime.podSandboxStatus({ podSandboxId });
  return { podId: podSandboxId, ms, ip: status?.network?.ip ?? "" };
}

async function httpFrom(ip: string): Promise<string> {
  return until(
    `HTTP answer from ${ip}`,
    async () => {
      const res = await fetch(`http://${ip}/index.html`, { signal: AbortSignal.timeout(3000) });
      return res.ok ? await res.text() : undefined;
    },
    30_000,
  );
}

/** The shim's timeline summary of the pod's sandbox task (info level, in containerd's log). */
function timelineOf(podId: string): string {
  const line = h.containerd
    .log()
    .split("\n")
    .find((l) => l.includes(`timeline ${podId}: container ${podId} started`));
  return line ?? "";
}

beforeAll(async () => {
  configPath = join(process.env["TMPDIR"] ?? "/tmp", `tskata-cri-wp-${process.pid}.toml`);
  writeFileSync(
    configPath,
    `[hypervisor]\naccel = "tcg"\n[factory]\nenabled = true\npool_size = 1\nsocket_path = "${SOCKET}"\nmin_host_available_mib = 512\nacquire_timeout_ms = 5000\n`,
  );
  h = await startCriContainerd({ tskataConfigPath: configPath, buildShim: true });
  pool = startPool();
  await until("a first idle pool VM", idleVms, 180_000);
}, VM_MS);

afterAll(async () => {
  if (pool && pool.exitCode === null && pool.signalCode === null) {
    const gone = new Promise((r) => pool!.once("exit", r));
    pool.kill("SIGTERM");
    await gone;
  }
  if (h) await h.stop().catch(() => undefined);
  if (configPath) rmSync(configPath, { force: true });
}, VM_MS);

describe("a CRI pod from the warm pool", () => {
  let warm = { podId: "", ms: 0, ip: "" };
  let adoptedVm = "";
  let record: ResourcesRecord | undefined;
  let warmTimeline = "";

  it(
    "RunPodSandbox adopts the idle VM, hotplugs the pod's NIC and serves HTTP at CNI's pod IP",
    async () => {
      const [idle] = (await idleVms())!;
      adoptedVm = idle!.id;
      warm = await startWebPod("warm-web");
      expect(warm.ip.startsWith(h.subnet.replace(/0\/24$/, ""))).toBe(true);
      // the pod's QEMU is the pool's (booted there), now in the pod's sandbox directory
      record = JSON.parse(
        readFileSync(join(STATE_DIR, "sandboxes", warm.podId, "resources.json"), "utf8"),
      ) as ResourcesRecord;
      expect(record.processes.find((p) => p.role === "qemu")?.pid).toBe(idle!.qemuPid);
      expect(record.network?.tapNames).toEqual(["tsktap0"]);
      expect(record.network?.netnsPath).toMatch(/cni-/);
      expect(existsSync(join(STATE_DIR, "sandboxes", adoptedVm))).toBe(false);
      // adoption and a NIC hotplug in the log and the timeline, and no boot phase
      const log = h.containerd.log();
      expect(log).toContain("sandbox ready (adopted from the warm pool)");
      expect(log).toContain("NICs hotplugged");
      const timeline = timelineOf(warm.podId);
      warmTimeline = timeline;
      expect(timeline).not.toBe("");
      for (const phase of ["pool-acquire", "pool-adopt", "nic-hotplug", "guest-network", "port-forward"])
        expect(timeline).toContain(` ${phase} `);
      for (const boot of ["vm-plan", "virtiofsd", "qemu-spawn", "qmp-ready", "firmware"])
        expect(timeline).not.toContain(` ${boot} `);
      expect(await httpFrom(warm.ip)).toBe("served-from-the-pod\n");
    },
    VM_MS,
  );

  it(
    "the pool refills with a new idle VM",
    async () => {
      const refilled = await until(
        "the pool to refill",
        async () => (await idleVms())?.find((v) => v.id !== adoptedVm),
        180_000,
      );
      expect(refilled.id).not.toBe(adoptedVm);
      const s = await poolStatus();
      expect(s.vms.find((v) => v.id === adoptedVm)?.state).toBe("adopted");
      expect(poolLog).toContain(refilled.id);
    },
    VM_MS,
  );

  it(
    "stop and remove leave no QEMU, virtiofsd, tap, mount or directory",
    async () => {
      const netnsPath = record!.network!.netnsPath;
      await h.cri.runtime.stopPodSandbox({ podSandboxId: warm.podId }, { timeoutMs: 60_000 });
      await h.cri.runtime.removePodSandbox({ podSandboxId: warm.podId }, { timeoutMs: 60_000 });
      expect(leftovers(warm.podId)).toEqual([]);
      expect(sandboxProcesses(adoptedVm)).toEqual([]);
      expect(existsSync(netnsPath)).toBe(false);
      expect(readdirSync("/sys/class/net").filter((n) => n.startsWith("tsktap"))).toEqual([]);
    },
    VM_MS,
  );

  it(
    "without the pool the same pod boots cold (start times printed: warm vs cold)",
    async () => {
      const gone = new Promise((r) => pool!.once("exit", r));
      pool!.kill("SIGTERM");
      await gone;
      const cold = await startWebPod("cold-web");
      expect(await httpFrom(cold.ip)).toBe("served-from-the-pod\n");
      expect(timelineOf(cold.podId)).toContain(" qemu-spawn ");
      expect(h.containerd.log()).toMatch(/warm pool: no VM; booting cold/);
      console.log(
        `RunPodSandbox → container running: warm ${warm.ms.toFixed(0)} ms, cold ${cold.ms.toFixed(0)} ms\n` +
          `warm ${warmTimeline}\ncold ${timelineOf(cold.podId)}`,
      );
      await h.cri.runtime.stopPodSandbox({ podSandboxId: cold.podId }, { timeoutMs: 60_000 });
      await h.cri.runtime.removePodSandbox({ podSandboxId: cold.podId }, { timeoutMs: 60_000 });
      expect(leftovers(cold.podId)).toEqual([]);
    },
    VM_MS,
  );
});
