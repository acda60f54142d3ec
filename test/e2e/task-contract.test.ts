/**
 * containerd's Task contract at its edges (issue 8), driven through containerd's own gRPC Tasks
 * API the way containerd's Go client drives a runtime: create without start, kill of a created
 * task, runtime options on Create, DeleteProcess of a created exec, and the rest. Containers are
 * made with `ctr containers create --config` (a full OCI spec: hooks, user namespaces), tasks with
 * the client. VM boots are few: three pods start at once (the load case), and every other check
 * runs as a container of the first pod.
 */
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeBusyboxRootfs } from "../../cli/demo/busybox-image.js";
import { RUNTIME, startTskataContainerd, type TskataContainerd } from "../../cli/demo/tskata-containerd.js";
import { OptionsSchema as RuncOptionsSchema } from "../../protocol/generated/containerd/runc/v1/options_pb.js";
import { Code } from "../../protocol/ttrpc/codes.js";
import { shimSocketPath } from "../../shim/launch/socket-address.js";
import { connectTasks, type TasksClient } from "../support/containerd/tasks-client.js";
import type { GrpcCallError } from "../support/cri/cri-client.js";
import { expectNoLeftovers, sandboxProcesses, shimsServing } from "../support/leftovers.js";

const VM_MS = 300_000;
/** The pod most checks run in (one VM). */
const POD = "contract";
/** A pod whose id is as long as containerd allows (76 characters): no socket path may overflow. */
const LONG_POD = `long-${"x".repeat(71)}`;
/** A third pod, started with the other two at once, with runc's runtime options. */
const THIRD_POD = "contract-third";
const SHIM_CGROUP = "tskata-contract-test";
const IO_UID = 4321;
const IO_GID = 4322;
/** `ctr oci spec` has no environment: the busybox applets are found through this PATH. */
const ENV = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"];

let ctrd: TskataContainerd;
let client: TasksClient;
let scratch: string;
let baseSpec: Record<string, unknown>;
const podStarts = new Map<string, PromiseSettledResult<number>>();

// biome-ignore lint/suspicious/noExplicitAny: an OCI spec, edited freely per test
type Spec = Record<string, any>;

const tasks = () => client.tasks;
const socketOf = (group: string) => shimSocketPath(ctrd.grpcAddress, "default", group);

/** Creates a container record with a full OCI spec (its own busybox rootfs), in `pod` unless null. */
async function container(
  id: string,
  args: string[],
  o: { pod?: string | null; edit?: (spec: Spec) => void } = {},
): Promise<string> {
  const rootfs = join(scratch, "rootfs", id);
  writeBusyboxRootfs(rootfs);
  const spec: Spec = structuredClone(baseSpec);
  spec["process"].args = args;
  spec["process"].env = ENV;
  spec["process"].terminal = false;
  spec["root"] = { path: rootfs, readonly: false };
  const pod = o.pod === undefined ? POD : o.pod;
  spec["annotations"] = pod === null ? {} : { "io.kubernetes.cri.sandbox-id": pod };
  o.edit?.(spec);
  const file = join(scratch, `${id}.json`);
  writeFileSync(file, JSON.stringify(spec));
  await ctrd.ctr(["containers", "create", "--runtime", RUNTIME, "--config", file, id]);
  return rootfs;
}

const outFile = (name: string) => join(scratch, `${name}.out`);
const out = (name: string) => (existsSync(outFile(name)) ? readFileSync(outFile(name), "utf8") : "");

async function untilOutput(name: string, re: RegExp, withinMs = 60_000): Promise<string> {
  const deadline = Date.now() + withinMs;
  while (!re.test(out(name)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  return out(name);
}

async function createTask(id: string, o: { options?: { typeUrl: string; value: Uint8Array } } = {}) {
  return tasks().create({
    containerId: id,
    stdout: `file://${outFile(id)}`,
    stderr: `file://${outFile(`${id}.err`)}`,
    ...(o.options ? { options: o.options } : {}),
  });
}

function processSpec(args: string[], terminal = false) {
  const proc = structuredClone((baseSpec as Spec)["process"]);
  proc.args = args;
  proc.env = ENV;
  proc.terminal = terminal;
  return {
    typeUrl: "types.containerd.io/opencontainers/runtime-spec/1/Process",
    value: new TextEncoder().encode(JSON.stringify(proc)),
  };
}

async function rejection(p: Promise<unknown>): Promise<GrpcCallError> {
  try {
    await p;
  } catch (err) {
    return err as GrpcCallError;
  }
  throw new Error("the call succeeded; a refusal was expected");
}

/** Kills (if needed), deletes the task and removes the container, whatever state it is in. */
async function remove(id: string): Promise<void> {
  await tasks()
    .kill({ containerId: id, signal: 9, all: true })
    .catch(() => undefined);
  await tasks()
    .wait({ containerId: id }, { timeoutMs: 15_000 })
    .catch(() => undefined);
  await tasks()
    .delete({ containerId: id })
    .catch(() => undefined);
  await ctrd.exec(["containers", "rm", id]);
}

function cgroupOf(pid: number): string {
  return readFileSync(`/proc/${pid}/cgroup`, "utf8");
}

function shimPidServing(socket: string): number {
  const line = shimsServing(socket)[0];
  return line ? Number(line.split(" ")[0]) : 0;
}

/** The cgroup v1 hierarchies and the v2 unified mount a shim cgroup is made in (as runc's shim needs it). */
const CGROUP_DIRS = ["/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified"].map((d) =>
  join(d, SHIM_CGROUP),
);

beforeAll(async () => {
  ctrd = await startTskataContainerd();
  client = connectTasks(ctrd.grpcAddress);
  scratch = mkdtempSync(join(tmpdir(), "tskata-contract-"));
  baseSpec = JSON.parse(await ctrd.ctr(["oci", "spec"])) as Record<string, unknown>;
  for (const d of CGROUP_DIRS) if (existsSync(join(d, ".."))) mkdirSync(d, { recursive: true });
  const runcOptions = {
    typeUrl: "containerd.runc.v1.Options",
    value: toBinary(
      RuncOptionsSchema,
      create(RuncOptionsSchema, {
        shimCgroup: `/${SHIM_CGROUP}`,
        ioUid: IO_UID,
        ioGid: IO_GID,
        binaryName: "runc",
        systemdCgroup: false,
      }),
    ),
  };
  await container("main", ["sleep", "100000"]);
  await container(LONG_POD, ["sleep", "100000"], { pod: null });
  await container("third", ["sleep", "100000"], { pod: THIRD_POD });
  // The load case: three pods (three shims, three VMs) start at the same moment.
  const startPod = async (id: string, options?: typeof runcOptions) => {
    await createTask(id, options ? { options } : {});
    return (await tasks().start({ containerId: id })).pid;
  };
  const results = await Promise.allSettled([
    startPod("main"),
    startPod(LONG_POD),
    startPod("third", runcOptions),
  ]);
  for (const [i, id] of ["main", LONG_POD, "third"].entries()) podStarts.set(id, results[i]!);
}, VM_MS);

afterAll(async () => {
  if (ctrd) {
    // every container still there (a failed test leaves its own), so every shim can exit
    const ids = (await ctrd.ctr(["containers", "ls", "-q"])).split("\n").filter((l) => l !== "");
    for (const id of ids) await remove(id).catch(() => undefined);
    for (const pod of [POD, LONG_POD, THIRD_POD])
      expect(await expectNoLeftovers(pod, socketOf(pod), 30_000)).toEqual([]);
  }
  client?.close();
  await ctrd?.close();
  for (const d of CGROUP_DIRS) if (existsSync(d)) rmdirSync(d);
  if (scratch) rmSync(scratch, { recursive: true, force: true });
}, VM_MS);

describe("containerd's Task API on tskata, where runc's shim sets the contract", () => {
  it("starts three pods at once on a busy host (item 6)", () => {
    for (const [id, r] of podStarts) {
      expect({ id, status: r.status, reason: r.status === "rejected" ? String(r.reason) : "" }).toEqual({
        id,
        status: "fulfilled",
        reason: "",
      });
    }
  });

  it(
    "ends a created, never-started init on kill: exit 137 with exited_at, and Wait answers (item 1)",
    async () => {
      await container("created-kill", ["sleep", "100000"]);
      await createTask("created-kill");
      const waiting = tasks().wait({ containerId: "created-kill" }, { timeoutMs: 60_000 });
      await tasks().kill({ containerId: "created-kill", signal: 9, all: true });
      const w = await waiting;
      expect(w.exitStatus).toBe(137);
      expect(Number(w.exitedAt?.seconds ?? 0)).toBeGreaterThan(0);
      // Wait on a stopped task returns at once
      const t0 = Date.now();
      const again = await tasks().wait({ containerId: "created-kill" }, { timeoutMs: 5_000 });
      expect(Date.now() - t0).toBeLessThan(2_000);
      expect(again.exitStatus).toBe(137);
      const d = await tasks().delete({ containerId: "created-kill" });
      expect(d.exitStatus).toBe(137);
      expect(Number(d.exitedAt?.seconds ?? 0)).toBeGreaterThan(0);
      await ctrd.ctr(["containers", "rm", "created-kill"]);
    },
    VM_MS,
  );

  it(
    "deletes a created, never-started init (create → delete)",
    async () => {
      await container("created-delete", ["sleep", "100000"]);
      await createTask("created-delete");
      const d = await tasks().delete({ containerId: "created-delete" });
      expect(Number(d.exitedAt?.seconds ?? 0)).toBeGreaterThan(0);
      await ctrd.ctr(["containers", "rm", "created-delete"]);
    },
    VM_MS,
  );

  it(
    "refuses to kill a created exec (process not created, as runc) and deletes it (create → kill → delete)",
    async () => {
      await tasks().exec({ containerId: "main", execId: "never", spec: processSpec(["true"]) });
      const e = await rejection(tasks().kill({ containerId: "main", execId: "never", signal: 9 }));
      expect({ code: e.code, details: e.details }).toMatchObject({
        code: Code.FAILED_PRECONDITION,
        details: expect.stringMatching(/not created/),
      });
      const d = await tasks().deleteProcess({ containerId: "main", execId: "never" });
      expect(d.id).toBe("never");
      await tasks().exec({ containerId: "main", execId: "never2", spec: processSpec(["true"]) });
      await tasks().deleteProcess({ containerId: "main", execId: "never2" });
    },
    VM_MS,
  );

  it(
    "runs an exec to its exit: start → wait → delete with exited_at, and kill → wait (137)",
    async () => {
      await tasks().exec({ containerId: "main", execId: "e-ok", spec: processSpec(["sh", "-c", "exit 5"]) });
      const waiting = tasks().wait({ containerId: "main", execId: "e-ok" });
      await tasks().start({ containerId: "main", execId: "e-ok" });
      const w = await waiting;
      expect(w.exitStatus).toBe(5);
      expect(Number(w.exitedAt?.seconds ?? 0)).toBeGreaterThan(0);
      const d = await tasks().deleteProcess({ containerId: "main", execId: "e-ok" });
      expect(d.exitStatus).toBe(5);
      expect(Number(d.exitedAt?.seconds ?? 0)).toBeGreaterThan(0);

      await tasks().exec({ containerId: "main", execId: "e-kill", spec: processSpec(["sleep", "1000"]) });
      await tasks().start({ containerId: "main", execId: "e-kill" });
      await tasks().kill({ containerId: "main", execId: "e-kill", signal: 9 });
      const k = await tasks().wait({ containerId: "main", execId: "e-kill" }, { timeoutMs: 60_000 });
      expect(k.exitStatus).toBe(137);
      expect(Number(k.exitedAt?.seconds ?? 0)).toBeGreaterThan(0);
      await tasks().deleteProcess({ containerId: "main", execId: "e-kill" });
    },
    VM_MS,
  );

  it(
    "fails to start an exec of a missing binary, naming it",
    async () => {
      await tasks().exec({
        containerId: "main",
        execId: "e-missing",
        spec: processSpec(["/no/such/binary"]),
      });
      const e = await rejection(tasks().start({ containerId: "main", execId: "e-missing" }));
      expect(e.details).toMatch(/\/no\/such\/binary/);
      await tasks().deleteProcess({ containerId: "main", execId: "e-missing" });
    },
    VM_MS,
  );

  it("refuses to delete a running task", async () => {
    const e = await rejection(tasks().delete({ containerId: "main" }));
    expect(e.code).toBe(Code.FAILED_PRECONDITION);
  });

  it("treats ResizePty of a process without a terminal as a no-op (item 3)", async () => {
    await expect(tasks().resizePty({ containerId: "main", width: 100, height: 40 })).resolves.toBeDefined();
  });

  it(
    "lists every process of the container's cgroup, and kill --all ends them all (item 5)",
    async () => {
      await container("forker", ["sh", "-c", "sleep 1000 & sleep 1001 & echo forked; wait"]);
      await createTask("forker");
      const { pid } = await tasks().start({ containerId: "forker" });
      await untilOutput("forker", /forked/);
      const { processes } = await tasks().listPids({ containerId: "forker" });
      const pids = processes.map((p) => p.pid);
      expect(pids).toContain(pid);
      expect(pids.length).toBeGreaterThanOrEqual(3);
      const waiting = tasks().wait({ containerId: "forker" }, { timeoutMs: 60_000 });
      await tasks().kill({ containerId: "forker", signal: 9, all: true });
      const w = await waiting;
      expect(w.exitStatus).toBe(137);
      expect(Number(w.exitedAt?.seconds ?? 0)).toBeGreaterThan(0);
      await tasks().delete({ containerId: "forker" });
      await ctrd.ctr(["containers", "rm", "forker"]);
    },
    VM_MS,
  );

  it(
    "accepts runc's runtime options: the shim in ShimCgroup, stdio owned by IoUid/IoGid, OOM score above containerd's (item 2)",
    async () => {
      expect(podStarts.get("third")).toMatchObject({ status: "fulfilled" });
      const shim = shimPidServing(socketOf(THIRD_POD));
      expect(shim).toBeGreaterThan(0);
      const cgroups = cgroupOf(shim);
      expect(cgroups).toMatch(new RegExp(`:memory:/${SHIM_CGROUP}\\n`));
      expect(cgroups).toMatch(new RegExp(`^0::/${SHIM_CGROUP}$`, "m"));
      const qemu = sandboxProcesses(THIRD_POD).find((p) => p.includes("qemu-system"));
      expect(qemu).toBeDefined();
      expect(cgroupOf(Number(qemu!.split(" ")[0]))).toMatch(new RegExp(`:memory:/${SHIM_CGROUP}\\n`));
      const st = statSync(outFile("third"));
      expect({ uid: st.uid, gid: st.gid }).toEqual({ uid: IO_UID, gid: IO_GID });
      const containerdScore = Number(readFileSync(`/proc/${ctrd.pid}/oom_score_adj`, "utf8"));
      const shimScore = Number(readFileSync(`/proc/${shim}/oom_score_adj`, "utf8"));
      expect(shimScore).toBe(Math.min(containerdScore + 1, 1000));
    },
    VM_MS,
  );

  it(
    "serves a pod whose id is 76 characters, and gives its exec a terminal (item 4)",
    async () => {
      expect(podStarts.get(LONG_POD)).toMatchObject({ status: "fulfilled" });
      const execId = `t-${"e".repeat(74)}`;
      await tasks().exec({
        containerId: LONG_POD,
        execId,
        terminal: true,
        stdout: `file://${outFile("long-tty")}`,
        spec: processSpec(["sh", "-c", "tty"], true),
      });
      const waiting = tasks().wait({ containerId: LONG_POD, execId });
      await tasks().start({ containerId: LONG_POD, execId });
      expect((await waiting).exitStatus).toBe(0);
      expect(out("long-tty")).toMatch(/\/dev\/pts\/\d+/);
      await tasks().deleteProcess({ containerId: LONG_POD, execId });
    },
    VM_MS,
  );

  it(
    "runs prestart, createRuntime, poststart and poststop on the host with the state on stdin, createContainer and startContainer in the guest (item 7)",
    async () => {
      const hookDir = join(scratch, "hooks");
      mkdirSync(hookDir, { recursive: true });
      const hostHook = (kind: string) => ({
        path: "/bin/sh",
        args: ["sh", "-c", `cat > ${hookDir}/${kind}.json`],
        timeout: 30,
      });
      const rootfs = await container("hooked", ["sh", "-c", "cat /tmp/startContainer; sleep 1000"], {
        edit: (spec) => {
          spec["hooks"] = {
            prestart: [hostHook("prestart")],
            createRuntime: [hostHook("createRuntime")],
            poststart: [hostHook("poststart")],
            poststop: [hostHook("poststop")],
            // guest paths: createContainer resolves in the runtime (guest) namespace,
            // startContainer in the container's
            createContainer: [{ path: "/bin/sh", args: ["sh", "-c", "cat > /tmp/createContainer.json"] }],
            startContainer: [{ path: "/bin/sh", args: ["sh", "-c", "cat > /tmp/startContainer"] }],
          };
        },
      });
      const { pid } = await createTask("hooked");
      expect(pid).toBeGreaterThan(0);
      for (const kind of ["prestart", "createRuntime"]) {
        const state = JSON.parse(readFileSync(join(hookDir, `${kind}.json`), "utf8"));
        expect(state).toMatchObject({
          ociVersion: expect.any(String),
          id: "hooked",
          status: "creating",
          bundle: expect.stringContaining("hooked"),
          annotations: { "io.kubernetes.cri.sandbox-id": POD },
        });
        expect(readFileSync(`/proc/${state.pid}/cmdline`, "utf8")).toMatch(/qemu-system/);
      }
      expect(existsSync(join(hookDir, "poststart.json"))).toBe(false);
      await tasks().start({ containerId: "hooked" });
      expect(JSON.parse(readFileSync(join(hookDir, "poststart.json"), "utf8"))).toMatchObject({
        id: "hooked",
        status: "running",
      });
      // startContainer ran inside the container before its process: its stdin was the state
      expect(await untilOutput("hooked", /"id":"hooked"/)).toMatch(/"bundle":/);
      expect(readFileSync(join(rootfs, "tmp/startContainer"), "utf8")).toMatch(/"id":"hooked"/);
      expect(existsSync(join(hookDir, "poststop.json"))).toBe(false);
      await tasks().kill({ containerId: "hooked", signal: 9 });
      await tasks().wait({ containerId: "hooked" }, { timeoutMs: 60_000 });
      await tasks().delete({ containerId: "hooked" });
      expect(JSON.parse(readFileSync(join(hookDir, "poststop.json"), "utf8"))).toMatchObject({
        id: "hooked",
        status: "stopped",
      });
      await ctrd.ctr(["containers", "rm", "hooked"]);
    },
    VM_MS,
  );

  it(
    "honours uid/gid mappings in the guest as crun does (item 8)",
    async () => {
      await container("userns", ["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u"], {
        edit: (spec) => {
          spec["linux"].namespaces.push({ type: "user" });
          spec["linux"].uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
          spec["linux"].gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        },
      });
      // the rootfs remapped to the mapped range, as containerd's WithRemappedSnapshot does
      execFileSync("chown", ["-R", "-h", "100000:100000", join(scratch, "rootfs", "userns")]);
      await createTask("userns");
      const waiting = tasks().wait({ containerId: "userns" }, { timeoutMs: 60_000 });
      await tasks().start({ containerId: "userns" });
      const w = await waiting;
      expect({ code: w.exitStatus, out: out("userns"), err: out("userns.err") }).toMatchObject({ code: 0 });
      expect(out("userns")).toMatch(/^\s*0\s+100000\s+65536\n\s*0\s+100000\s+65536\n0\n$/);
      await tasks().delete({ containerId: "userns" });
      await ctrd.ctr(["containers", "rm", "userns"]);
    },
    VM_MS,
  );
});
