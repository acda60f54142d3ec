/**
 * `ctr run --runtime io.containerd.tskata.v2` against a real containerd 1.6 (Debian), every task
 * in a micro-VM (TCG here): output, exit codes, stdin, terminals, exec, kill, ps, pause/resume,
 * metrics, volumes, one VM per pod, and cleanup as the host sees it. VM boots are few and
 * shared: most checks run as extra containers in one pod.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { timelineFromLog } from "../../bench/peers/timeline-log.js";
import {
  IMAGE,
  RUNTIME,
  startTskataContainerd,
  type TskataContainerd,
} from "../../cli/demo/tskata-containerd.js";
import { shimSocketPath } from "../../shim/launch/socket-address.js";
import { expectNoLeftovers, sandboxProcesses, shimProcesses } from "../support/leftovers.js";

const POD = "e2epod";
const INPOD = ["--annotation", `io.kubernetes.cri.sandbox-id=${POD}`];
const VM_MS = 240_000;

let ctrd: TskataContainerd;
let scratch: string;
beforeAll(async () => {
  ctrd = await startTskataContainerd();
  scratch = mkdtempSync(join(tmpdir(), "tskata-e2e-"));
}, 180_000);
afterAll(async () => {
  await ctrd?.close();
  rmSync(scratch, { recursive: true, force: true });
});

const run = (args: string[], o: { input?: string; tty?: string } = {}) =>
  ctrd.exec(["run", "--runtime", RUNTIME, ...args], { timeoutMs: VM_MS, ...o });
const socketOf = (group: string) => shimSocketPath(ctrd.grpcAddress, "default", group);

describe("ctr run with the tskata runtime", () => {
  it(
    "prints a container's output from its own VM, and --rm leaves nothing behind",
    async () => {
      const r = await run(["--rm", IMAGE, "solo", "sh", "-c", "echo hello from tskata; uname -r"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^hello from tskata\n6\.1\.0-.*-cloud-amd64\n$/);
      expect(await expectNoLeftovers("solo", socketOf("solo"))).toEqual([]);
      expect(await ctrd.ctr(["containers", "ls", "-q"])).toBe("");
    },
    VM_MS,
  );

  it("logs the container's start-up timeline, shim spawn to teardown, one debug line per phase", async () => {
    // containerd (at --log-level debug) copies the shim's log lines into its own, a moment later
    let phases: string[] = [];
    for (let i = 0; i < 40 && !phases.includes("teardown"); i++) {
      phases = timelineFromLog(ctrd.log(), "solo").map((p) => p.phase);
      if (!phases.includes("teardown")) await new Promise((r) => setTimeout(r, 100));
    }
    const expected = [
      "shim-spawn",
      "config",
      "virtiofsd",
      "qemu-spawn",
      "qmp-ready",
      "guest-initramfs",
      "guest-agent-listening",
      "health",
      "create-sandbox",
      "rootfs-mount",
      "create-container",
      "start",
      "teardown",
    ];
    expect(phases.filter((p) => expected.includes(p))).toEqual(expected);
    expect(ctrd.log()).toMatch(/timeline solo: container solo started in \d+ ms: shim-spawn \d+ ms/);
  });
});

describe("a pod: containers sharing one VM", () => {
  beforeAll(async () => {
    const r = await ctrd.exec(
      ["run", "-d", "--runtime", RUNTIME, ...INPOD, IMAGE, "pod-main", "sleep", "100000"],
      {
        timeoutMs: VM_MS,
      },
    );
    expect(r).toMatchObject({ code: 0, stderr: "" });
  }, VM_MS);
  afterAll(async () => {
    await ctrd.exec(["task", "kill", "-s", "SIGKILL", "pod-main"]);
    await ctrd.exec(["task", "rm", "-f", "pod-main"], { timeoutMs: 60_000 });
    await ctrd.exec(["containers", "rm", "pod-main"]);
    expect(await expectNoLeftovers(POD, socketOf(POD))).toEqual([]);
  }, VM_MS);

  it(
    "propagates exit codes 0, 1 and 42",
    async () => {
      for (const [name, script, code] of [
        ["x0", "true", 0],
        ["x1", "exit 1", 1],
        ["x42", "exit 42", 42],
      ] as const) {
        const r = await run(["--rm", ...INPOD, IMAGE, name, "sh", "-c", script]);
        expect({ name, code: r.code }).toEqual({ name, code });
      }
    },
    VM_MS,
  );

  it(
    "runs every container of the pod in one VM",
    async () => {
      const r = await run([
        "--rm",
        ...INPOD,
        IMAGE,
        "peer",
        "sh",
        "-c",
        "cat /proc/1/cmdline; echo; hostname",
      ]);
      expect(r.code).toBe(0);
      const qemus = sandboxProcesses(POD).filter((p) => p.includes("qemu-system"));
      expect(qemus).toHaveLength(1);
      expect(sandboxProcesses("peer")).toEqual([]);
      expect(shimProcesses("peer")).toEqual([]);
    },
    VM_MS,
  );

  it(
    "pipes stdin through cat byte for byte (1,000 lines)",
    async () => {
      const input =
        Array.from({ length: 1000 }, (_, i) => `line ${i} ${"x".repeat(i % 50)}`).join("\n") + "\n";
      const r = await run(["--rm", ...INPOD, IMAGE, "cat1", "cat"], { input });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(input);
    },
    VM_MS,
  );

  it(
    "gives -t a terminal sized by ctr (ResizePty)",
    async () => {
      const r = await run(["--rm", "-t", ...INPOD, IMAGE, "tty1", "sh", "-c", "sleep 1; tty; stty size"], {
        tty: "rows 40 cols 100",
      });
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/\/dev\/pts\/\d+\r*\n40 100\r*\n/);
    },
    VM_MS,
  );

  it(
    "execs into a running container, with and without a terminal",
    async () => {
      const plain = await ctrd.exec(
        ["task", "exec", "--exec-id", "ex1", "pod-main", "sh", "-c", "echo exec ok; exit 3"],
        {
          timeoutMs: VM_MS,
        },
      );
      expect(plain).toMatchObject({ code: 3, stdout: "exec ok\n" });
      const tty = await ctrd.exec(["task", "exec", "-t", "--exec-id", "ex2", "pod-main", "tty"], {
        timeoutMs: VM_MS,
        tty: "rows 24 cols 80",
      });
      expect(tty.code).toBe(0);
      expect(tty.stdout).toMatch(/\/dev\/pts\/\d+/);
    },
    VM_MS,
  );

  it(
    "lists a task's processes, kills it (exit 137), and refuses to kill it again",
    async () => {
      const start = await ctrd.exec(
        ["run", "-d", "--runtime", RUNTIME, ...INPOD, IMAGE, "victim", "sleep", "1000"],
        {
          timeoutMs: VM_MS,
        },
      );
      expect(start.code).toBe(0);
      const ps = await ctrd.ctr(["task", "ps", "victim"]);
      expect(ps).toMatch(/PID\s+INFO\n\d+\s+-/);
      // PID 1 of a PID namespace ignores SIGTERM without a handler; SIGKILL is forced.
      await ctrd.ctr(["task", "kill", "-s", "SIGKILL", "victim"]);
      const deadline = Date.now() + 30_000;
      while (!/victim\s+\d+\s+STOPPED/.test(await ctrd.ctr(["task", "ls"])) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
      }
      const killAgain = await ctrd.exec(["task", "kill", "victim"]);
      expect(killAgain.code).not.toBe(0);
      expect(killAgain.stderr).toMatch(/process already finished/);
      const rm = await ctrd.exec(["task", "rm", "victim"]);
      expect(rm.code).toBe(0);
      expect(rm.stderr).toMatch(/exit code 137/);
      expect((await ctrd.exec(["containers", "rm", "victim"])).code).toBe(0);
    },
    VM_MS,
  );

  it(
    "pauses and resumes a task",
    async () => {
      expect((await ctrd.exec(["task", "pause", "pod-main"])).code).toBe(0);
      expect(await ctrd.ctr(["task", "ls"])).toMatch(/pod-main\s+\d+\s+PAUSED/);
      const exec = await ctrd.exec(["task", "exec", "--exec-id", "nope", "pod-main", "true"]);
      expect(exec.code).not.toBe(0);
      expect((await ctrd.exec(["task", "resume", "pod-main"])).code).toBe(0);
      expect(await ctrd.ctr(["task", "ls"])).toMatch(/pod-main\s+\d+\s+RUNNING/);
    },
    VM_MS,
  );

  it(
    "reports cgroup v2 metrics",
    async () => {
      const m = await ctrd.ctr(["task", "metrics", "pod-main"]);
      const usage = /memory\.usage_in_bytes\s+(\d+)/.exec(m) ?? /memory\.usage\s+(\d+)/.exec(m);
      expect(m).toMatch(/pids\.current\s+\d+/);
      expect(Number(usage?.[1] ?? 0)).toBeGreaterThan(0);
    },
    VM_MS,
  );

  it(
    "shares a host volume read-only, and the container cannot write to it",
    async () => {
      const vol = join(scratch, "vol");
      mkdirSync(vol);
      writeFileSync(join(vol, "greeting"), "from the host\n");
      const r = await run([
        "--rm",
        ...INPOD,
        "--mount",
        `type=bind,src=${vol},dst=/data,options=rbind:ro`,
        IMAGE,
        "vol1",
        "sh",
        "-c",
        "cat /data/greeting; touch /data/new 2>/dev/null && echo WRITABLE || echo read-only",
      ]);
      expect(r.stdout).toBe("from the host\nread-only\n");
      expect(readFileSync(join(vol, "greeting"), "utf8")).toBe("from the host\n");
    },
    VM_MS,
  );

  it(
    "appends output to a file:// log URI",
    async () => {
      const log = join(scratch, "c.log");
      const r = await run([
        "--rm",
        "--log-uri",
        `file://${log}`,
        ...INPOD,
        IMAGE,
        "logged",
        "sh",
        "-c",
        "echo out; echo err >&2",
      ]);
      expect(r.code).toBe(0);
      expect(readFileSync(log, "utf8").split("\n").sort()).toEqual(["", "err", "out"]);
    },
    VM_MS,
  );

  it(
    "hands output to a binary:// logger with its arguments and environment, after it signalled ready",
    async () => {
      const dir = join(scratch, "logger");
      mkdirSync(dir);
      const logger = join(dir, "logger.sh");
      writeFileSync(
        logger,
        [
          "#!/bin/sh",
          '# containerd convention: fd 3 stdout, fd 4 stderr, fd 5 closed when ready; "-dir DIR" from the URI',
          'out="$2"',
          'echo "$CONTAINER_ID $CONTAINER_NAMESPACE" > "$out/env"',
          "exec 5>&-",
          'cat <&3 > "$out/stdout" &',
          'cat <&4 > "$out/stderr" &',
          "wait",
          "",
        ].join("\n"),
        { mode: 0o755 },
      );
      const r = await run([
        "--rm",
        "--log-uri",
        `binary://${logger}?dir=${dir}`,
        ...INPOD,
        IMAGE,
        "binlog",
        "sh",
        "-c",
        "echo to-out; echo to-err >&2",
      ]);
      expect(r.code).toBe(0);
      const deadline = Date.now() + 10_000;
      const written = (f: string) => existsSync(join(dir, f)) && readFileSync(join(dir, f), "utf8") !== "";
      while (!(written("stdout") && written("stderr")) && Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 100));
      }
      expect(readFileSync(join(dir, "env"), "utf8")).toBe("binlog default\n");
      expect(readFileSync(join(dir, "stdout"), "utf8")).toBe("to-out\n");
      expect(readFileSync(join(dir, "stderr"), "utf8")).toBe("to-err\n");
    },
    VM_MS,
  );

  it(
    "survives a containerd restart: the new containerd reconnects through the address file and Connect",
    async () => {
      await ctrd.restart();
      expect(await ctrd.ctr(["task", "ls"])).toMatch(/pod-main\s+\d+\s+RUNNING/);
      const r = await ctrd.exec(
        ["task", "exec", "--exec-id", "after-restart", "pod-main", "echo", "still here"],
        {
          timeoutMs: VM_MS,
        },
      );
      expect(r).toMatchObject({ code: 0, stdout: "still here\n" });
    },
    VM_MS,
  );
});

describe("a shim killed with SIGKILL", () => {
  it(
    "is cleaned up by containerd's delete: VM, virtiofsd, mounts, socket and dirs are gone",
    async () => {
      const r = await ctrd.exec(["run", "-d", "--runtime", RUNTIME, IMAGE, "k9", "sleep", "1000"], {
        timeoutMs: VM_MS,
      });
      expect(r.code).toBe(0);
      const shims = shimProcesses("k9");
      expect(shims).toHaveLength(1);
      expect(sandboxProcesses("k9").some((p) => p.includes("qemu-system"))).toBe(true);
      process.kill(Number(shims[0]!.split(" ")[0]), "SIGKILL");
      await ctrd.exec(["task", "rm", "-f", "k9"], { timeoutMs: 60_000 });
      await ctrd.exec(["containers", "rm", "k9"]);
      expect(await expectNoLeftovers("k9", socketOf("k9"), 20_000)).toEqual([]);
    },
    VM_MS,
  );
});

describe("bad input fails clearly and leaves nothing running", () => {
  it(
    "refuses a bundle whose config.json is invalid",
    async () => {
      const spec = join(scratch, "bad-config.json");
      writeFileSync(spec, JSON.stringify({ ociVersion: "1.0.2", root: { path: "rootfs" } }));
      const r = await run(["--rm", "--config", spec, "badcfg"]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/config\.json: process is required/);
      expect(await expectNoLeftovers("badcfg", socketOf("badcfg"))).toEqual([]);
    },
    VM_MS,
  );

  it(
    "refuses a missing rootfs",
    async () => {
      const r = await run([
        "--rm",
        "--rootfs",
        IMAGE.replace(/.*/, join(scratch, "no-such-rootfs")),
        "norootfs",
        "true",
      ]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/no-such-rootfs does not exist/);
      expect(await expectNoLeftovers("norootfs", socketOf("norootfs"))).toEqual([]);
    },
    VM_MS,
  );

  it(
    "refuses a runtime config path that cannot be read",
    async () => {
      const r = await run([
        "--rm",
        "--runtime-config-path",
        "/nonexistent/tskata.toml",
        IMAGE,
        "badopt",
        "true",
      ]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/cannot read \/nonexistent\/tskata\.toml/);
      expect(await expectNoLeftovers("badopt", socketOf("badopt"))).toEqual([]);
    },
    VM_MS,
  );
});
