/**
 * The task manager against a fake agent (served in-process over ttrpc) and a fake sandbox
 * provider: how a CRI pod's sandbox is opened from its sandbox container, how app containers join
 * it, what is refused, how the VM is sized and when it stops.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SandboxError } from "../../../../shim/sandbox/errors.js";
import type { OciSpec } from "../../../../shim/spec/guest-spec.js";
import type { TaskManager } from "../../../../shim/task/task-manager.js";
import { createInput, type TaskFixture, taskFixture } from "../../../support/task-fixture.js";

const MIB = 1024 * 1024;
let fx: TaskFixture;
let work: string;
const manager: TaskFixture["manager"] = (opts) => fx.manager(opts);
const bundle = (spec: OciSpec) => fx.bundle(spec);

beforeAll(() => {
  fx = taskFixture();
  work = fx.work;
});

afterAll(() => fx.dispose());

/** A plain container running `sleep 1000`, created and started. */
async function startSleeper(tasks: TaskManager, id: string): Promise<void> {
  const spec: OciSpec = {
    ociVersion: "1.0.2",
    process: { args: ["sleep", "1000"], cwd: "/", user: { uid: 0, gid: 0 } },
    root: { path: "rootfs" },
  };
  await tasks.create(createInput(id, bundle(spec)));
  await tasks.start(id, "");
}

function podFiles(): { resolv: string; hosts: string; shm: string } {
  const dir = mkdtempSync(join(work, "podfiles-"));
  writeFileSync(
    join(dir, "resolv.conf"),
    "nameserver 10.0.0.10\nsearch svc.cluster.local cluster.local\noptions ndots:5\n",
  );
  writeFileSync(join(dir, "hosts"), "127.0.0.1 localhost\n");
  mkdirSync(join(dir, "shm"));
  return { resolv: join(dir, "resolv.conf"), hosts: join(dir, "hosts"), shm: join(dir, "shm") };
}

function sandboxContainerSpec(
  files: { resolv: string; shm: string },
  netns = "/var/run/netns/cni-test",
): OciSpec {
  return {
    ociVersion: "1.0.2",
    process: { args: ["/pause"], cwd: "/", user: { uid: 0, gid: 0 } },
    root: { path: "rootfs", readonly: true },
    hostname: "web-0",
    mounts: [
      { destination: "/dev/shm", type: "bind", source: files.shm, options: ["rbind", "ro"] },
      { destination: "/etc/resolv.conf", type: "bind", source: files.resolv, options: ["rbind", "ro"] },
    ],
    annotations: {
      "io.kubernetes.cri.container-type": "sandbox",
      "io.kubernetes.cri.sandbox-id": "pod1",
      "io.kubernetes.cri.sandbox-name": "web-0",
      "io.kubernetes.cri.sandbox-namespace": "default",
    },
    linux: {
      namespaces: [
        { type: "pid" },
        { type: "ipc" },
        { type: "uts" },
        { type: "mount" },
        { type: "network", path: netns },
      ],
    },
  };
}

function appContainerSpec(
  sandboxPid: number,
  files: { hosts: string },
  extra: Partial<OciSpec> = {},
): OciSpec {
  return {
    ociVersion: "1.0.2",
    process: { args: ["sh"], cwd: "/", user: { uid: 0, gid: 0 } },
    root: { path: "rootfs" },
    mounts: [{ destination: "/etc/hosts", type: "bind", source: files.hosts, options: ["rbind", "rw"] }],
    annotations: {
      "io.kubernetes.cri.container-type": "container",
      "io.kubernetes.cri.sandbox-id": "pod1",
    },
    linux: {
      namespaces: [
        { type: "pid", path: `/proc/${sandboxPid}/ns/pid` },
        { type: "ipc", path: `/proc/${sandboxPid}/ns/ipc` },
        { type: "uts", path: `/proc/${sandboxPid}/ns/uts` },
        { type: "mount" },
        { type: "network", path: `/proc/${sandboxPid}/ns/net` },
      ],
      ...(extra.linux ?? {}),
    },
  };
}

describe("task manager: CRI pods", () => {
  it("opens the pod's sandbox from its sandbox container (netns, hostname, DNS, pod name) and stops it with that container", async () => {
    const { tasks, provider, events } = manager();
    const files = podFiles();
    const pid = await tasks.create(createInput("pod1", bundle(sandboxContainerSpec(files))));
    expect(provider.started).toHaveLength(1);
    const sb = provider.started[0]!;
    expect(sb.request.spec).toMatchObject({
      id: "pod1",
      kind: "cri-pod",
      podName: "web-0",
      podNamespace: "default",
      hostname: "web-0",
      netnsPath: "/var/run/netns/cni-test",
      dns: { servers: ["10.0.0.10"], searches: ["svc.cluster.local", "cluster.local"], options: ["ndots:5"] },
    });
    expect(sb.request.size).toEqual({ memoryMib: 512, vcpus: 1 });
    // the resolv.conf bind is a file: its mount point in the share is a file too (not ENOTDIR)
    const guest = sb.fake.containers.get("pod1")!.spec as {
      mounts: { destination: string; source: string }[];
    };
    const resolvShare = guest.mounts.find((m) => m.destination === "/etc/resolv.conf")!.source;
    const hostPath = join(sb.sharedDir, resolvShare.replace("/run/tskata/shared/", ""));
    expect(statSync(hostPath).isFile()).toBe(true);
    expect(readFileSync(hostPath, "utf8")).toContain("nameserver 10.0.0.10");

    await tasks.start("pod1", "");
    const app = await tasks.create(createInput("app1", bundle(appContainerSpec(pid, files))));
    expect(provider.started).toHaveLength(1); // joined, not a second VM
    const appSpec = sb.fake.containers.get("app1")!.spec as {
      linux: { namespaces: { type: string; path?: string }[] };
    };
    expect(appSpec.linux.namespaces).toEqual([
      { type: "pid", path: `/proc/${pid}/ns/pid` },
      { type: "ipc", path: `/proc/${pid}/ns/ipc` },
      { type: "uts", path: `/proc/${pid}/ns/uts` },
      { type: "mount" },
      { type: "network" },
    ]);
    await tasks.start("app1", "");

    // StopPodSandbox: containerd kills and deletes the sandbox container; the VM goes with it and
    // the app container still running is reported exited once, its Wait answered.
    await tasks.kill("pod1", "", 9, false);
    await tasks.wait("pod1", "");
    await tasks.delete("pod1", "");
    expect(sb.stopped).toBe(true);
    expect((await tasks.wait("app1", "")).status).toBe(137);
    expect(events.filter((e) => e.topic === "/tasks/exit" && e.event["containerId"] === "app1")).toHaveLength(
      1,
    );
    const { exit } = await tasks.delete("app1", "");
    expect(exit.status).toBe(137);
    expect(tasks.size).toBe(0);
    expect(app).toBeGreaterThan(0);
  });

  it("refuses an app container whose pod sandbox is not running, starting nothing", async () => {
    const { tasks, provider } = manager();
    const err = await tasks
      .create(createInput("app9", bundle(appContainerSpec(1, podFiles()))))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SandboxError);
    expect((err as SandboxError).code).toBe("SANDBOX_NOT_RUNNING");
    expect((err as Error).message).toContain("pod sandbox pod1");
    expect(provider.started).toHaveLength(0);
  });

  it.each([
    ["network", "hostNetwork"],
    ["pid", "hostPID"],
    ["ipc", "hostIPC"],
  ])("refuses a pod sharing the host's %s namespace (%s), starting nothing", async (type, field) => {
    const { tasks, provider } = manager();
    const spec = sandboxContainerSpec(podFiles());
    spec.linux!.namespaces = spec.linux!.namespaces!.filter((n) => n.type !== type);
    const err = await tasks.create(createInput("pod1", bundle(spec))).catch((e: unknown) => e);
    expect((err as SandboxError).code).toBe("SANDBOX_HOST_NAMESPACE");
    expect((err as Error).message).toContain(field);
    expect(provider.started).toHaveLength(0);
    expect(tasks.size).toBe(0);
  });

  it("refuses host-to-container mount propagation, naming the mount", async () => {
    const { tasks, provider } = manager();
    const files = podFiles();
    const pid = await tasks.create(createInput("pod1", bundle(sandboxContainerSpec(files))));
    const spec = appContainerSpec(pid, files);
    spec.mounts!.push({
      destination: "/data",
      type: "bind",
      source: files.shm,
      options: ["rbind", "rslave"],
    });
    const err = await tasks.create(createInput("app2", bundle(spec))).catch((e: unknown) => e);
    expect((err as SandboxError).code).toBe("SANDBOX_MOUNT_UNSUPPORTED");
    expect((err as Error).message).toContain("/data");
    expect(provider.started[0]!.fake.containers.has("app2")).toBe(false);
    await tasks.delete("pod1", "");
  });

  it("grows the VM by a joining container's memory limit (base + limits), and never for one without limits", async () => {
    const { tasks, provider } = manager();
    const files = podFiles();
    const pid = await tasks.create(createInput("pod1", bundle(sandboxContainerSpec(files))));
    const sb = provider.started[0]!;
    await tasks.create(createInput("plain", bundle(appContainerSpec(pid, files))));
    expect(sb.resizes).toEqual([]);
    const limited = appContainerSpec(pid, files, {
      linux: { resources: { memory: { limit: 256 * MIB }, cpu: { quota: 150_000, period: 100_000 } } },
    });
    await tasks.create(createInput("limited", bundle(limited)));
    expect(sb.resizes).toEqual([{ memoryMib: 512 + 256, vcpus: 1 + 2 }]);
    expect(sb.size).toEqual({ memoryMib: 768, vcpus: 3 });
    for (const id of ["limited", "plain", "pod1"]) await tasks.delete(id, "");
  });

  it("sizes the VM at boot from the kubelet's pod annotations", async () => {
    const { tasks, provider } = manager();
    const spec = sandboxContainerSpec(podFiles());
    spec.annotations!["io.kubernetes.cri.sandbox-memory"] = String(1024 * MIB);
    spec.annotations!["io.kubernetes.cri.sandbox-cpu-quota"] = "200000";
    spec.annotations!["io.kubernetes.cri.sandbox-cpu-period"] = "100000";
    await tasks.create(createInput("pod1", bundle(spec)));
    expect(provider.started[0]!.request.size).toEqual({ memoryMib: 512 + 1024, vcpus: 3 });
    await tasks.delete("pod1", "");
  });

  it("refuses a pod asking for more memory than the host has, naming both, starting nothing", async () => {
    const { tasks, provider } = manager({ host: { memoryMib: 2048, cpus: 2 } });
    const spec = sandboxContainerSpec(podFiles());
    spec.annotations!["io.kubernetes.cri.sandbox-memory"] = String(4096 * MIB);
    const err = await tasks.create(createInput("pod1", bundle(spec))).catch((e: unknown) => e);
    expect((err as SandboxError).code).toBe("SANDBOX_RESOURCES_EXCEEDED");
    expect((err as Error).message).toContain("4608 MiB");
    expect((err as Error).message).toContain("2048 MiB");
    expect(provider.started).toHaveLength(0);
  });
});

describe("task manager: plain containers", () => {
  it("runs a plain container as a one-container pod: standalone spec, VM stopped with its delete", async () => {
    const { tasks, provider } = manager();
    const spec: OciSpec = {
      ociVersion: "1.0.2",
      process: { args: ["true"], cwd: "/", user: { uid: 0, gid: 0 } },
      root: { path: "rootfs" },
      linux: { namespaces: [{ type: "pid" }, { type: "network" }] },
    };
    await tasks.create(createInput("c1", bundle(spec)));
    const sb = provider.started[0]!;
    expect(sb.request.spec).toMatchObject({
      id: "pod1",
      kind: "standalone",
      netnsPath: undefined,
      hostname: "pod1",
    });
    await tasks.start("c1", "");
    sb.fake.containers.get("c1")!.init.end(3);
    expect((await tasks.wait("c1", "")).status).toBe(3);
    await tasks.delete("c1", "");
    expect(sb.stopped).toBe(true);
  });

  it("a process whose agent channel breaks is reported killed at the time it broke, not its start time", async () => {
    const { tasks, provider } = manager();
    await startSleeper(tasks, "c3");
    await new Promise((r) => setTimeout(r, 200));
    const brokeAt = Date.now();
    provider.started[0]!.dropAgent();
    const exit = await tasks.wait("c3", "");
    expect(exit.status).toBe(137);
    expect(exit.at).toBeGreaterThanOrEqual(brokeAt);
    await tasks.destroy();
  });

  it("a shim shutting down (SIGTERM) publishes no exit of its own: containerd reports the dead shim's tasks once", async () => {
    const { tasks, events } = manager();
    await startSleeper(tasks, "c4");
    const waited = tasks.wait("c4", "");
    await tasks.destroy();
    expect((await waited).status).toBe(137);
    expect(events.filter((e) => e.topic === "/tasks/exit")).toEqual([]);
  });

  it("reports every live process exited (137) when the VM dies under it", async () => {
    const { tasks, provider, events } = manager();
    await startSleeper(tasks, "c2");
    await new Promise((r) => setTimeout(r, 200));
    const killedAt = Date.now();
    provider.started[0]!.kill();
    const exit = await tasks.wait("c2", "");
    expect(exit.status).toBe(137);
    expect(exit.at).toBeGreaterThanOrEqual(killedAt); // the time of death, not of start
    expect(events.filter((e) => e.topic === "/tasks/exit")).toHaveLength(1);
    // the dead sandbox's teardown is finished: its share unmounted and removed before any delete
    const sb = provider.started[0]!;
    for (let i = 0; i < 50 && !sb.stopped; i++) await new Promise((r) => setTimeout(r, 20));
    expect(sb.stopped).toBe(true);
    expect(existsSync(sb.sharedDir)).toBe(false);
    await tasks.delete("c2", "");
  });
});
