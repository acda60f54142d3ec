/**
 * The agent's container API on the real guest image under TCG: one VM for the whole file, one
 * sandbox, a table of runtime-spec features each checked from inside a container, then stdio,
 * exec, pause/resume, OOM and bad-input cases. Rootfs: busybox-static on the virtio-fs share.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "../../protocol/ttrpc/codes.js";
import { TtrpcError } from "../../protocol/ttrpc/errors.js";
import { resolveGuestDir } from "../../shim/config/paths.js";
import {
  type AgentClient,
  type AgentVm,
  baseSpec,
  bootAgentVm,
  makeBusyboxRootfs,
  readAll,
  runContainer,
  specBytes,
} from "../fixtures/agent-vm.js";
import { processAlive } from "../support/leftovers.js";

const guestDir = resolveGuestDir();
const built = existsSync(join(guestDir.dir, "manifest.json"));
const GUEST_SHARE = "/run/tskata/shared";

let avm: AgentVm;
let agent: AgentClient;
let rootfs: string;
let blob: Buffer;

async function expectCode(p: Promise<unknown>, code: Code, message: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TtrpcError);
  expect({ code: (err as TtrpcError).code, message: (err as TtrpcError).message }).toMatchObject({ code });
  expect((err as TtrpcError).message).toMatch(message);
}

async function create(id: string, spec: unknown, stdio: { stdin?: boolean; terminal?: boolean } = {}) {
  return agent.createContainer(
    {
      containerId: id,
      ociSpecJson: specBytes(spec),
      rootfs: { source: { case: "sharedDir", value: rootfs } },
      stdio,
    },
    { timeoutMs: 60_000 },
  );
}

async function exec(id: string, execId: string, args: string[]) {
  const proc = { ...baseSpec(args).process };
  await agent.execProcess({ containerId: id, execId, processJson: specBytes(proc) }, { timeoutMs: 60_000 });
  const out = await readAll(agent, id, execId, "stdout");
  const w = await agent.waitProcess({ containerId: id, execId }, { timeoutMs: 60_000 });
  return { out: out.toString(), status: w.exitStatus };
}

beforeAll(async () => {
  if (!built) return;
  avm = await bootAgentVm("ctr1");
  agent = avm.agent;
  rootfs = makeBusyboxRootfs(avm.vm.sharedDir, "busybox");
  blob = randomBytes(1 << 20);
  writeFileSync(join(avm.vm.sharedDir, rootfs, "data/blob"), blob);
  mkdirSync(join(avm.vm.sharedDir, "vol"));
  writeFileSync(join(avm.vm.sharedDir, "vol/hello"), "from the host\n");
}, 180_000);

afterAll(async () => {
  if (!built) return;
  await avm.stop();
  expect(avm.pids.some(processAlive)).toBe(false);
  expect(readdirSync(join(avm.stateDir, "sandboxes"))).toEqual([]);
  rmSync(avm.stateDir, { recursive: true, force: true });
}, 60_000);

type Spec = ReturnType<typeof baseSpec>;
interface Row {
  feature: string;
  args: string[];
  edit?: (s: Spec) => void;
  terminal?: boolean;
  status?: number;
  stdout: RegExp | string;
}

const sh = (script: string) => ["sh", "-c", script];

const rows: Row[] = [
  {
    feature: "args, env, cwd",
    args: ["sh", "-c", 'echo "$0 $1 $FOO"; pwd', "zero", "one"],
    edit: (s) => {
      s.process.env.push("FOO=bar");
      s.process.cwd = "/tmp";
    },
    stdout: "zero one bar\n/tmp\n",
  },
  {
    feature: "user uid, gid, additionalGids",
    args: sh("id -u; id -g; id -G"),
    edit: (s) => {
      s.process.user = { uid: 1000, gid: 1000, additionalGids: [2000] };
    },
    stdout: /^1000\n1000\n1000 2000\n$/,
  },
  {
    feature: "terminal (pty with a window size)",
    args: sh("tty; stty size"),
    terminal: true,
    edit: (s) => {
      s.process.terminal = true;
      s.process.consoleSize = { height: 30, width: 100 };
    },
    stdout: /^\/dev\/pts\/0\r\n30 100\r\n$/,
  },
  { feature: "hostname (uts namespace)", args: ["hostname"], stdout: "box\n" },
  {
    feature: "mounts: bind, tmpfs, proc, sysfs",
    args: sh(
      "cat /mnt/vol/hello; grep -o ' /mnt/tmp tmpfs' /proc/mounts; grep -o ' /proc proc' /proc/mounts; grep -o ' /sys sysfs' /proc/mounts",
    ),
    edit: (s) => {
      s.mounts.push({
        destination: "/mnt/vol",
        type: "bind",
        source: `${GUEST_SHARE}/vol`,
        options: ["rbind", "ro"],
      });
      s.mounts.push({ destination: "/mnt/tmp", type: "tmpfs", source: "tmpfs", options: ["size=1m"] });
    },
    stdout: "from the host\n /mnt/tmp tmpfs\n /proc proc\n /sys sysfs\n",
  },
  {
    feature: "readonly rootfs",
    args: sh("touch /x 2>/dev/null && echo writable || echo readonly; echo ok > /tmp/x || echo tmp-readonly"),
    edit: (s) => {
      s.root.readonly = true;
    },
    stdout: /^readonly\n/,
  },
  {
    feature: "masked and readonly paths",
    args: sh("wc -c < /proc/kcore; echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo rw || echo ro"),
    stdout: /^\s*0\nro\n$/,
  },
  {
    feature: "rlimits",
    args: sh("ulimit -n; ulimit -Hn"),
    edit: (s) => {
      s.process.rlimits = [{ type: "RLIMIT_NOFILE", soft: 512, hard: 768 }];
    },
    stdout: "512\n768\n",
  },
  {
    feature: "capabilities",
    args: sh("grep -E '^Cap(Eff|Bnd)' /proc/self/status"),
    edit: (s) => {
      const caps = ["CAP_CHOWN", "CAP_KILL"];
      s.process.capabilities = { bounding: caps, effective: caps, permitted: caps };
    },
    stdout: "CapEff:\t0000000000000021\nCapBnd:\t0000000000000021\n",
  },
  {
    feature: "noNewPrivileges true",
    args: sh("grep NoNewPrivs /proc/self/status"),
    stdout: "NoNewPrivs:\t1\n",
  },
  {
    feature: "noNewPrivileges false",
    args: sh("grep NoNewPrivs /proc/self/status"),
    edit: (s) => {
      s.process.noNewPrivileges = false;
    },
    stdout: "NoNewPrivs:\t0\n",
  },
  {
    feature: "seccomp profile",
    args: sh("grep Seccomp: /proc/self/status; mkdir /tmp/d 2>&1 || echo denied"),
    edit: (s) => {
      s.linux.seccomp = {
        defaultAction: "SCMP_ACT_ALLOW",
        architectures: ["SCMP_ARCH_X86_64"],
        syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }],
      };
    },
    stdout: /Seccomp:\t2\n.*Operation not permitted\ndenied\n/s,
  },
  {
    feature: "oom_score_adj",
    args: ["cat", "/proc/self/oom_score_adj"],
    edit: (s) => {
      s.process.oomScoreAdj = 500;
    },
    stdout: "500\n",
  },
  {
    feature: "pid namespace (the workload is PID 1)",
    args: sh("echo $$; ps -o pid | wc -l"),
    stdout: /^1\n\s*4\n$/,
  },
  { feature: "exit code 0", args: ["true"], status: 0, stdout: "" },
  { feature: "exit code 1", args: ["false"], status: 1, stdout: "" },
  { feature: "exit code 42", args: sh("exit 42"), status: 42, stdout: "" },
  {
    feature: "exit 128+signal (SIGKILL by itself via a child)",
    args: sh("sh -c 'kill -9 $$'; echo $?"),
    stdout: "137\n",
  },
];

describe("agent containers on the built guest image", () => {
  beforeAll(() => {
    if (!built) throw new Error(`guest image not built in ${guestDir.dir}: run npm run build:guest first`);
  });
  it.each(rows)(
    "$feature",
    async (row) => {
      const spec = baseSpec(row.args);
      row.edit?.(spec);
      const id = `row-${row.feature
        .replace(/[^a-z0-9]+/gi, "-")
        .replace(/-+$/, "")
        .slice(0, 40)}`;
      const r = await runContainer(agent, id, rootfs, spec, { terminal: row.terminal ?? false });
      expect({ stdout: r.stdout, stderr: r.stderr }).toMatchObject({
        stdout: typeof row.stdout === "string" ? row.stdout : expect.stringMatching(row.stdout),
      });
      expect(r.status).toBe(row.status ?? 0);
    },
    60_000,
  );

  it("pids limit refuses the fork beyond the limit", async () => {
    const spec = baseSpec(sh("for i in 1 2 3 4 5 6; do sleep 2 & done; wait"));
    spec.linux.resources = { pids: { limit: 3 } };
    const r = await runContainer(agent, "pids", rootfs, spec);
    expect(r.stderr).toMatch(/can't fork|Resource temporarily unavailable/);
  }, 60_000);

  it("annotations reach the bundle crun runs", async () => {
    const spec = baseSpec(["sleep", "30"]);
    spec.annotations = { "io.tskata.test": "kept" };
    await create("annotated", spec);
    const probe = baseSpec(sh('grep -o \'"io.tskata.test":"kept"\' /bundles/annotated/config.json'));
    probe.mounts.push({
      destination: "/bundles",
      type: "bind",
      source: "/run/tskata/containers",
      options: ["rbind", "ro"],
    });
    const r = await runContainer(agent, "annotation-probe", rootfs, probe);
    expect(r.stdout).toBe('"io.tskata.test":"kept"\n');
    await agent.removeContainer({ containerId: "annotated" });
  }, 60_000);

  it("many containers in one sandbox: own pid/ipc/uts/mount namespaces, one pod network namespace (lo up), not the guest's", async () => {
    const spec = baseSpec(
      sh(
        "for n in pid ipc uts mnt net; do readlink /proc/self/ns/$n; done; ip -o link show lo | grep -o UP | head -1",
      ),
    );
    const ids = ["ns-a", "ns-b", "ns-c", "ns-d"];
    const results = await Promise.all(ids.map((id) => runContainer(agent, id, rootfs, spec)));
    const lines = results.map((r) => r.stdout.trim().split("\n"));
    for (const l of lines) expect(l).toHaveLength(6);
    for (const i of [0, 1, 2, 3]) expect(new Set(lines.map((l) => l[i])).size).toBe(ids.length);
    expect(new Set(lines.map((l) => l[4])).size).toBe(1);
    expect(lines[0]![4]).toMatch(/^net:\[\d+\]$/);
    expect(lines[0]![5]).toBe("UP");
    const hostNet = baseSpec(["readlink", "/proc/self/ns/net"]);
    hostNet.linux.namespaces = hostNet.linux.namespaces.filter((n: { type: string }) => n.type !== "network");
    const guest = await runContainer(agent, "net-guest", rootfs, hostNet);
    expect(guest.stdout).toMatch(/^net:\[\d+\]\n$/);
    expect(guest.stdout.trim()).not.toBe(lines[0]![4]);
  }, 120_000);

  it("1 MiB of stdout arrives byte-exact, all of it still readable after WaitProcess answered", async () => {
    await create("blob", baseSpec(["cat", "/data/blob"]));
    await agent.startContainer({ containerId: "blob" });
    // WaitProcess answers only once the output sources reached EOF (everything is buffered)
    expect((await agent.waitProcess({ containerId: "blob" }, { timeoutMs: 60_000 })).exitStatus).toBe(0);
    const out = await readAll(agent, "blob", "", "stdout");
    expect(out.length).toBe(blob.length);
    expect(out.equals(blob)).toBe(true);
    await agent.removeContainer({ containerId: "blob" });
  }, 60_000);

  it("back-pressure: a writer nobody reads blocks in the guest, then every byte arrives", async () => {
    const size = 6 << 20; // > agent buffer (1 MiB) + pipe (1 MiB): the writer must block
    await create("flood", baseSpec(["head", "-c", String(size), "/dev/zero"]));
    await agent.startContainer({ containerId: "flood" });
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const procs = await agent.listProcesses({ containerId: "flood" });
    expect(procs.processes.map((p) => p.command)).toEqual(["head"]);
    const out = await readAll(agent, "flood", "", "stdout");
    expect(out.length).toBe(size);
    expect(out.every((b) => b === 0)).toBe(true);
    expect((await agent.waitProcess({ containerId: "flood" })).exitStatus).toBe(0);
    await agent.removeContainer({ containerId: "flood" });
  }, 90_000);

  it("1,000 lines of stdin round-trip through cat", async () => {
    const id = "cat";
    await create(id, baseSpec(["cat"]), { stdin: true });
    await agent.startContainer({ containerId: id });
    const input = Array.from({ length: 1000 }, (_, i) => `line ${i} ${"x".repeat(i % 50)}\n`).join("");
    const reading = readAll(agent, id, "", "stdout");
    const bytes = Buffer.from(input);
    for (let off = 0; off < bytes.length; off += 4096)
      await agent.writeStdin({ containerId: id, data: bytes.subarray(off, off + 4096) });
    await agent.closeStdin({ containerId: id });
    expect((await reading).toString()).toBe(input);
    expect((await agent.waitProcess({ containerId: id })).exitStatus).toBe(0);
    await agent.removeContainer({ containerId: id });
  }, 60_000);

  it("exec while the container runs; signals reach the right process; exit 128+signal", async () => {
    const id = "svc";
    await create(id, baseSpec(sh("trap 'echo got-term; exit 7' TERM; while true; do sleep 0.2; done")));
    await agent.startContainer({ containerId: id });
    expect(await exec(id, "e1", sh("echo from-exec $$ > /dev/stdout; exit 3"))).toMatchObject({ status: 3 });
    const e2 = await exec(id, "e2", sh("ps -o comm | grep -c sleep >/dev/null; echo ok"));
    expect(e2).toEqual({ out: "ok\n", status: 0 });
    // a long exec killed by SIGTERM: 128+15, while the init keeps running
    await agent.execProcess({
      containerId: id,
      execId: "e3",
      processJson: specBytes(baseSpec(["sleep", "100"]).process),
    });
    await agent.signalProcess({ containerId: id, execId: "e3", signal: 15 });
    expect((await agent.waitProcess({ containerId: id, execId: "e3" })).exitStatus).toBe(143);
    const procs = await agent.listProcesses({ containerId: id });
    expect(procs.processes.map((p) => p.command)).toContain("sh");
    await agent.signalProcess({ containerId: id, signal: 15 });
    const out = await readAll(agent, id, "", "stdout");
    expect(out.toString()).toContain("got-term");
    expect((await agent.waitProcess({ containerId: id })).exitStatus).toBe(7);
    await agent.removeContainer({ containerId: id });
  }, 90_000);

  it("SIGKILL to every process (all=true) gives 137; several waiters all get the status", async () => {
    const id = "killme";
    await create(id, baseSpec(sh("sleep 100 & sleep 100 & wait")));
    await agent.startContainer({ containerId: id });
    await expect.poll(async () => (await agent.listProcesses({ containerId: id })).processes.length).toBe(3);
    const waits = [1, 2, 3].map(() => agent.waitProcess({ containerId: id }, { timeoutMs: 30_000 }));
    await agent.signalProcess({ containerId: id, signal: 9, all: true });
    expect((await Promise.all(waits)).map((w) => w.exitStatus)).toEqual([137, 137, 137]);
    expect((await agent.listProcesses({ containerId: id })).processes).toEqual([]);
    await expectCode(agent.signalProcess({ containerId: id, signal: 15 }), Code.NOT_FOUND, /already exited/);
    await agent.removeContainer({ containerId: id });
  }, 60_000);

  it("pause stops a running counter and resume lets it go on", async () => {
    const id = "counter";
    await create(id, baseSpec(sh("i=0; while true; do i=$((i+1)); echo $i; sleep 0.1; done")));
    await agent.startContainer({ containerId: id });
    const first = await agent.readStdout({ containerId: id });
    expect(first.data.length).toBeGreaterThan(0);
    await agent.pauseContainer({ containerId: id });
    // drain what was written before the freeze, then nothing comes while paused
    await agent.readStdout({ containerId: id }, { timeoutMs: 1000 }).catch(() => undefined);
    await expectCode(agent.readStdout({ containerId: id }, { timeoutMs: 1500 }), Code.DEADLINE_EXCEEDED, /./);
    await expectCode(
      agent.execProcess({ containerId: id, execId: "x", processJson: specBytes(baseSpec(["true"]).process) }),
      Code.FAILED_PRECONDITION,
      /paused/,
    );
    await agent.resumeContainer({ containerId: id });
    const after = await agent.readStdout({ containerId: id }, { timeoutMs: 10_000 });
    expect(Number(after.data.toString().trim().split("\n").pop())).toBeGreaterThan(0);
    await agent.removeContainer({ containerId: id });
  }, 60_000);

  it("an allocation over the memory limit is OOM-killed and reported", async () => {
    const spec = baseSpec(["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"]);
    spec.linux.resources = { memory: { limit: 16 * 1024 * 1024 } };
    const oom = agent.getOOMEvent({}, { timeoutMs: 60_000 });
    const r = await runContainer(agent, "oom", rootfs, spec, { keep: true });
    expect(r.status).toBe(137);
    expect((await oom).containerId).toBe("oom");
    const stats = await agent.statsContainer({ containerId: "oom" });
    expect(stats.memory?.eventsOomKill).toBeGreaterThan(0n);
    expect(stats.memory?.limit).toBe(16n * 1024n * 1024n);
    await agent.removeContainer({ containerId: "oom" });
  }, 60_000);

  it("UpdateContainer changes a running container's limits; StatsContainer reads them back", async () => {
    const id = "update";
    await create(id, baseSpec(["sleep", "60"]));
    await agent.startContainer({ containerId: id });
    await agent.updateContainer({
      containerId: id,
      resourcesJson: Buffer.from(JSON.stringify({ pids: { limit: 7 }, memory: { limit: 48 * 1024 * 1024 } })),
    });
    const stats = await agent.statsContainer({ containerId: id });
    expect(stats.pids).toMatchObject({ limit: 7n, current: 1n });
    expect(stats.memory?.limit).toBe(48n * 1024n * 1024n);
    expect(stats.memory?.usage).toBeGreaterThan(0n);
    expect(stats.cpu?.usageUsec).toBeGreaterThan(0n);
    await expectCode(
      agent.updateContainer({ containerId: id, resourcesJson: Buffer.from("[]") }),
      Code.INVALID_ARGUMENT,
      /resources: must be an object/,
    );
    await agent.removeContainer({ containerId: id });
  }, 60_000);

  it("orphans of a dead container init are reaped: no zombies are left in the guest", async () => {
    // the init dies with two children: the kernel kills them and they are re-parented to the agent
    const r = await runContainer(
      agent,
      "orphans",
      rootfs,
      baseSpec(sh("sleep 100 & sleep 100 & exec sleep 0.3")),
    );
    expect(r.status).toBe(0);
    // without a pid namespace the init's child outlives it, re-parented to the agent, and exits later
    const shared = baseSpec(sh("(sleep 0.5; exit 3) & exit 0"));
    shared.linux.namespaces = shared.linux.namespaces.filter((n: { type: string }) => n.type !== "pid");
    expect((await runContainer(agent, "orphans-shared", rootfs, shared, { keep: true })).status).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const spec = baseSpec(sh("ps -o stat,comm | grep -c '^Z' || true"));
    spec.linux.namespaces = spec.linux.namespaces.filter((n: { type: string }) => n.type !== "pid");
    const check = await runContainer(agent, "zombies", rootfs, spec);
    expect(check.stdout).toBe("0\n");
    await agent.removeContainer({ containerId: "orphans-shared" });
  }, 60_000);

  it("an exec with a terminal is resized by ResizeTty", async () => {
    const id = "tty-host";
    await create(id, baseSpec(["sleep", "60"]));
    await agent.startContainer({ containerId: id });
    const proc = baseSpec(sh("read line; stty size")).process;
    await agent.execProcess({
      containerId: id,
      execId: "t",
      processJson: specBytes(proc),
      stdio: { terminal: true, ttyRows: 10, ttyColumns: 20 },
    });
    await agent.resizeTty({ containerId: id, execId: "t", rows: 44, columns: 132 });
    await agent.writeStdin({ containerId: id, execId: "t", data: Buffer.from("go\n") });
    const out = (await readAll(agent, id, "t", "stdout")).toString();
    expect(out).toMatch(/44 132\r\n$/);
    expect((await agent.waitProcess({ containerId: id, execId: "t" })).exitStatus).toBe(0);
    await expectCode(
      agent.resizeTty({ containerId: id, rows: 1, columns: 1 }),
      Code.FAILED_PRECONDITION,
      /no terminal/,
    );
    await agent.removeContainer({ containerId: id });
  }, 60_000);

  describe("bad input gets a clear error and changes nothing else", () => {
    const sentinel = "sentinel";
    beforeAll(async () => {
      if (!built) return;
      await create(sentinel, baseSpec(["sleep", "300"]));
      await agent.startContainer({ containerId: sentinel });
      await create("stopped", baseSpec(["true"]));
      await agent.startContainer({ containerId: "stopped" });
      await agent.waitProcess({ containerId: "stopped" });
    }, 60_000);

    const bad: { name: string; call: () => Promise<unknown>; code: Code; message: RegExp }[] = [
      {
        name: "invalid spec (uid is a string)",
        call: () => {
          const s = baseSpec(["true"]);
          s.process.user.uid = "root";
          return create("bad-spec", s);
        },
        code: Code.INVALID_ARGUMENT,
        message: /process\.user\.uid: must be integer/,
      },
      {
        name: "invalid spec (a host-side hook kind is not accepted in the guest)",
        call: () =>
          create("bad-hooks", { ...baseSpec(["true"]), hooks: { prestart: [{ path: "/bin/true" }] } }),
        code: Code.INVALID_ARGUMENT,
        message: /hooks: unknown field "prestart" is not accepted/,
      },
      {
        name: "invalid spec (not JSON)",
        call: () =>
          agent.createContainer({
            containerId: "bad-json",
            ociSpecJson: Buffer.from("{"),
            rootfs: { source: { case: "sharedDir", value: rootfs } },
          }),
        code: Code.INVALID_ARGUMENT,
        message: /not valid JSON/,
      },
      {
        name: "rootfs escaping the share",
        call: () =>
          agent.createContainer({
            containerId: "escape",
            ociSpecJson: specBytes(baseSpec(["true"])),
            rootfs: { source: { case: "sharedDir", value: "../../../" } },
          }),
        code: Code.INVALID_ARGUMENT,
        message: /ERR_ROOTFS_ESCAPE.*escapes the shared directory/,
      },
      {
        name: "duplicate id",
        call: () => create(sentinel, baseSpec(["true"])),
        code: Code.ALREADY_EXISTS,
        message: /container sentinel already exists/,
      },
      {
        name: "unknown id",
        call: () => agent.startContainer({ containerId: "nope" }),
        code: Code.NOT_FOUND,
        message: /container nope not found/,
      },
      {
        name: "signal out of range",
        call: () => agent.signalProcess({ containerId: sentinel, signal: 65 }),
        code: Code.INVALID_ARGUMENT,
        message: /signal 65 is out of range/,
      },
      {
        name: "exec into a stopped container",
        call: () =>
          agent.execProcess({
            containerId: "stopped",
            execId: "e",
            processJson: specBytes(baseSpec(["true"]).process),
          }),
        code: Code.FAILED_PRECONDITION,
        message: /cannot exec into container stopped in stopped state/,
      },
    ];

    it.each(bad)("$name", async ({ call, code, message }) => {
      await expectCode(call(), code, message);
      const procs = await agent.listProcesses({ containerId: sentinel });
      expect(procs.processes.map((p) => p.command)).toEqual(["sleep"]);
    });

    it("after the errors: the rejected ids are free, the sentinel still answers exec", async () => {
      const r = await runContainer(agent, "bad-spec", rootfs, baseSpec(["echo", "fine"]));
      expect(r.stdout).toBe("fine\n");
      expect(await exec(sentinel, "check", ["echo", "processAlive"])).toEqual({
        out: "processAlive\n",
        status: 0,
      });
      await agent.removeContainer({ containerId: sentinel });
      await agent.removeContainer({ containerId: "stopped" });
    }, 60_000);
  });
});
