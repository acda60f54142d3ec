/**
 * The soak (`npm run test:soak`, issue 9): 100 create/start/exec/delete cycles of containers in
 * one pod (one VM), then N pods started, exec'd into and deleted in parallel (one VM each). After
 * each: no leaked process, mount, fd, socket or directory; the pod shim's and containerd's RSS
 * sampled every 10 cycles must stay flat (the curve is printed and written to build/soak.json).
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeBusyboxRootfs } from "../../cli/demo/busybox-image.js";
import { RUNTIME } from "../../cli/demo/tskata-containerd.js";
import { packageRoot } from "../../shim/config/paths.js";
import { shimSocketPath } from "../../shim/launch/socket-address.js";
import { closeBench, containerdPid, type FaultBench, openBench } from "../faults/fault-matrix.js";
import { hostLinks, shimPid, untilClean } from "../faults/host-traces.js";

const CYCLES = Number(process.env["TSKATA_SOAK_CYCLES"] ?? 100);
const PARALLEL_PODS = Number(process.env["TSKATA_SOAK_PODS"] ?? 10);
const POD = "soak";
const ENV = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"];

let b: FaultBench;
const report: Record<string, unknown> = {};

function kib(pid: number, field: "VmRSS" | "VmHWM"): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0);
}
const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
/** Processes, mounts, sandbox dirs and socket dirs under the bench's state dir. */
function hostCounts() {
  const procs = readdirSync("/proc").filter((p) => {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) return false;
    try {
      return readFileSync(`/proc/${p}/cmdline`, "utf8").includes(b.stateDir);
    } catch {
      return false;
    }
  }).length;
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => (l.split(" ")[4] ?? "").startsWith(`${b.stateDir}/sandboxes/`)).length;
  const list = (d: string) => {
    try {
      return readdirSync(d).length;
    } catch {
      return 0;
    }
  };
  return {
    procs,
    mounts,
    sandboxDirs: list(join(b.stateDir, "sandboxes")),
    socketDirs: list(join(b.stateDir, "s")),
  };
}

async function container(id: string, pod: string | null): Promise<void> {
  const dir = join(b.scratch, id);
  writeBusyboxRootfs(join(dir, "rootfs"));
  const spec = structuredClone(b.baseSpec);
  spec["process"].args = ["sleep", "100000"];
  spec["process"].env = ENV;
  spec["process"].terminal = false;
  spec["root"] = { path: join(dir, "rootfs"), readonly: false };
  spec["annotations"] = pod ? { "io.kubernetes.cri.sandbox-id": pod } : {};
  writeFileSync(join(dir, "spec.json"), JSON.stringify(spec));
  await b.ctrd.ctr(["containers", "create", "--runtime", RUNTIME, "--config", join(dir, "spec.json"), id]);
}

function echoSpec() {
  const proc = structuredClone(b.baseSpec["process"]);
  proc.args = ["sh", "-c", "echo hi"];
  proc.env = ENV;
  proc.terminal = false;
  return {
    typeUrl: "types.containerd.io/opencontainers/runtime-spec/1/Process",
    value: new TextEncoder().encode(JSON.stringify(proc)),
  };
}

/** create → start → exec (to its exit) → kill → delete → containers rm. */
async function cycle(id: string): Promise<void> {
  const tasks = b.client.tasks;
  await tasks.create({ containerId: id, options: b.options });
  await tasks.start({ containerId: id });
  await tasks.exec({ containerId: id, execId: "echo", spec: echoSpec() });
  const execDone = tasks.wait({ containerId: id, execId: "echo" });
  await tasks.start({ containerId: id, execId: "echo" });
  expect((await execDone).exitStatus).toBe(0);
  await tasks.deleteProcess({ containerId: id, execId: "echo" });
  const done = tasks.wait({ containerId: id });
  await tasks.kill({ containerId: id, signal: 9, all: true });
  expect((await done).exitStatus).toBe(137);
  await tasks.delete({ containerId: id });
  await b.ctrd.ctr(["containers", "rm", id]);
}

beforeAll(async () => {
  b = await openBench();
}, 300_000);

afterAll(async () => {
  writeFileSync(join(packageRoot() ?? ".", "build/soak.json"), JSON.stringify(report, null, 2));
  await closeBench(b, "soak-containerd");
}, 300_000);

describe("soak", () => {
  it(`${CYCLES} create/start/exec/delete cycles in one pod: no leak, shim and containerd RSS flat`, async () => {
    try {
      await cycles();
    } finally {
      // the pod goes whatever happened (a failed cycle must not leave a VM behind the test)
      const ended = b.client.tasks.wait({ containerId: POD }, { timeoutMs: 30_000 }).catch(() => undefined);
      await b.client.tasks.kill({ containerId: POD, signal: 9, all: true }).catch(() => undefined);
      await ended;
      await b.client.tasks.delete({ containerId: POD }).catch(() => undefined);
      await b.ctrd.ctr(["containers", "rm", POD]).catch(() => undefined);
    }
  });

  async function cycles(): Promise<void> {
    const tasks = b.client.tasks;
    await container(POD, POD);
    await tasks.create({ containerId: POD, options: b.options });
    await tasks.start({ containerId: POD });
    const shim = shimPid(shimSocketPath(b.ctrd.grpcAddress, "default", POD))!;
    expect(shim).toBeGreaterThan(0);
    const samples: Record<string, number>[] = [];
    const sample = (i: number) =>
      samples.push({
        cycle: i,
        shimRssKib: kib(shim, "VmRSS"),
        shimFds: fds(shim),
        containerdRssKib: kib(containerdPid(b)!, "VmRSS"),
        containerdFds: fds(containerdPid(b)!),
        ...hostCounts(),
        ms: Date.now(),
      });
    await container("c0", POD);
    await cycle("c0"); // warm-up: code paths loaded, buffers grown
    sample(0);
    for (let i = 1; i <= CYCLES; i++) {
      await container(`c${i}`, POD);
      await cycle(`c${i}`);
      if (i % 10 === 0) {
        (globalThis as { gc?: () => void }).gc?.();
        sample(i);
      }
    }
    report["cycles"] = samples;
    console.log(
      [
        "cycle | shim RSS KiB | shim fds | containerd RSS KiB | containerd fds | procs | mounts | sandbox dirs | socket dirs | s/cycle",
        ...samples.map((s, i) =>
          [
            s["cycle"],
            s["shimRssKib"],
            s["shimFds"],
            s["containerdRssKib"],
            s["containerdFds"],
            s["procs"],
            s["mounts"],
            s["sandboxDirs"],
            s["socketDirs"],
            i === 0 ? "-" : ((s["ms"]! - samples[i - 1]!["ms"]!) / 1000 / 10).toFixed(2),
          ].join(" | "),
        ),
      ].join("\n"),
    );
    const first = samples[0]!;
    const last = samples.at(-1)!;
    // nothing accumulates: fds and host objects back to the warm-up's figures
    expect({ shimFds: last["shimFds"], procs: last["procs"], mounts: last["mounts"] }).toEqual({
      shimFds: first["shimFds"],
      procs: first["procs"],
      mounts: first["mounts"],
    });
    expect(last["containerdFds"]! - first["containerdFds"]!).toBeLessThanOrEqual(2);
    expect({ sandboxDirs: last["sandboxDirs"], socketDirs: last["socketDirs"] }).toEqual({
      sandboxDirs: first["sandboxDirs"],
      socketDirs: first["socketDirs"],
    });
    // flat: the second half grows the RSS by less than 10 MiB (a leak of one buffer per cycle would not)
    const mid = samples[Math.floor(samples.length / 2)]!;
    expect(last["shimRssKib"]! - mid["shimRssKib"]!).toBeLessThan(10 * 1024);
    expect(last["containerdRssKib"]! - mid["containerdRssKib"]!).toBeLessThan(10 * 1024);
  }

  it(`${PARALLEL_PODS} pods at once: all start, exec and go, leaving nothing`, async () => {
    const ids = Array.from({ length: PARALLEL_PODS }, (_, i) => `par${i}`);
    const linksBefore = hostLinks();
    const before = { containerdFds: fds(containerdPid(b)!), ...hostCounts() };
    const t0 = Date.now();
    for (const id of ids) await container(id, null);
    const results = await Promise.allSettled(ids.map((id) => cycle(id)));
    const seconds = (Date.now() - t0) / 1000;
    const failed = results.flatMap((r, i) =>
      r.status === "rejected" ? [`${ids[i]}: ${String(r.reason)}`] : [],
    );
    const left = (
      await Promise.all(
        ids.map((id) =>
          untilClean(
            {
              stateDir: b.stateDir,
              sandboxId: id,
              shimSocket: shimSocketPath(b.ctrd.grpcAddress, "default", id),
              fifoDirs: [join(b.scratch, id)],
              linksBefore,
            },
            Date.now() + 30_000,
          ),
        ),
      )
    ).flatMap((c) => c.left);
    const after = { containerdFds: fds(containerdPid(b)!), ...hostCounts() };
    report["parallel"] = { pods: PARALLEL_PODS, seconds, failed, left, before, after };
    console.log(`parallel: ${PARALLEL_PODS} pods in ${seconds.toFixed(1)} s`, {
      failed,
      left,
      before,
      after,
    });
    expect(failed).toEqual([]);
    expect(left).toEqual([]);
    expect({
      procs: after.procs,
      mounts: after.mounts,
      sandboxDirs: after.sandboxDirs,
      socketDirs: after.socketDirs,
    }).toEqual({
      procs: before.procs,
      mounts: before.mounts,
      sandboxDirs: before.sandboxDirs,
      socketDirs: before.socketDirs,
    });
    expect(after.containerdFds - before.containerdFds).toBeLessThanOrEqual(2);
  });
});
