/**
 * Docker 20.10 (Debian's docker.io) drives `tskata-runtime` as it drives runc (`--runtime tskata`,
 * through containerd's runc shim): every container is its own VM (TCG here), and what Docker
 * shows — output, exit codes, stdin, a terminal, exec, signals, pause, stop, logs, rm — is the
 * guest's. Three containers, so three boots: the cases share them where what each proves stays
 * clear.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostCgroupDirs } from "../../cli/runtime/host-cgroup.js";
import {
  buildRuntime,
  expectHiFromGuest,
  expectWebFromGuest,
  hostProcessesNaming,
  IMAGE,
  RUNTIME,
  TRAP_SCRIPT,
  VM_MS,
  WEB_SCRIPT,
  waitForNoLeftovers,
} from "../support/oci-fixtures.js";
import { buildDockerArchive, type PrivateDockerd, startDockerd } from "../support/private-dockerd.js";

/** In the guest: says whether stdio is a terminal, waits (5 s at most) for a size, prints it. */
const WAIT_FOR_SIZE =
  'test -t 0 && test -t 1 && echo is-a-tty; for i in $(seq 50); do stty size 2>/dev/null | grep -q "^[1-9]" && break; sleep 0.1; done; printf "size "; stty size';

let d: PrivateDockerd;
const mobyRoot = () => join(d.runtimeRoot, "moby");
const run = (args: string[], input?: string) =>
  d.docker(["run", "--runtime", "tskata", "--network", "none", ...args], {
    timeoutMs: VM_MS,
    ...(input !== undefined ? { input } : {}),
  });
const inspect = async (name: string, format: string) =>
  (await d.docker(["inspect", "-f", format, name])).stdout.trim();

beforeAll(async () => {
  buildRuntime();
  d = await startDockerd({ tskata: RUNTIME });
  const load = await d.docker(["load", "-i", buildDockerArchive(join(d.dir, "image.tar"))]);
  expect(load.stdout).toContain(`Loaded image: ${IMAGE}`);
}, 180_000);
afterAll(async () => d?.stop());

describe("Docker 20.10 with --runtime tskata", () => {
  it("docker info lists the tskata runtime", async () => {
    const r = await d.docker(["info", "--format", "{{json .Runtimes}}"]);
    expect(Object.keys(JSON.parse(r.stdout) as object)).toContain("tskata");
  });

  it(
    "docker run --rm -i prints from the guest kernel, passes stdin and the exit code, and leaves nothing",
    async () => {
      const cidFile = join(d.dir, "ocirun.cid");
      const r = await run(
        ["--rm", "-i", "--cidfile", cidFile, IMAGE, "sh", "-c", "echo hi; uname -r; cat; exit 5"],
        "from stdin\n",
      );
      const [echoed] = expectHiFromGuest(r.stdout);
      expect(echoed).toBe("from stdin");
      expect(r.code).toBe(5);
      expect((await d.docker(["ps", "-aq"])).stdout).toBe("");
      // the runc shim's cleanup `delete` found nothing to do; dockerd's state dir is gone too
      const id = readFileSync(cidFile, "utf8").trim();
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      expect(await waitForNoLeftovers(id, mobyRoot())).toEqual([]);
    },
    VM_MS,
  );

  it(
    "docker run -t gives the guest process a terminal with the caller's window size",
    async () => {
      // the docker CLI runs in a terminal of 33 rows and 111 columns (script(1)); it sets that size
      // on the pty master it got from the runtime, and the guest's terminal follows
      const r = await d.docker(
        ["run", "--runtime", "tskata", "--network", "none", "--rm", "-t", IMAGE, "sh", "-c", WAIT_FOR_SIZE],
        { timeoutMs: VM_MS, tty: "rows 33 cols 111" },
      );
      expect(r.stdout).toMatch(/^is-a-tty\r*\nsize 33 111\r*\n$/);
      expect(r.code).toBe(0);
    },
    VM_MS,
  );

  it(
    "a detached container: exec (-t with the window size), top, update, events --stats, stats (host cgroup), kill -s, pause/unpause, stop (SIGTERM, then SIGKILL when ignored), logs; nothing left after rm",
    async () => {
      // TERM is trapped and survived: `docker stop` must escalate to SIGKILL (exit 137)
      const started = await run(["-d", "--name", "ocilong", IMAGE, "sh", "-c", TRAP_SCRIPT]);
      expect(started.code).toBe(0);
      const id = started.stdout.trim();
      expect(existsSync(join(mobyRoot(), id, "state.json"))).toBe(true);
      const exec = await d.docker(["exec", "ocilong", "sh", "-c", "echo from-exec; uname -r; exit 4"]);
      expect(exec.stdout).toMatch(/^from-exec\n6\.1\.0-.*-cloud-amd64\n$/);
      expect(exec.code).toBe(4);
      // docker exec -t: the exec's own terminal follows the caller's window too
      const execTty = await d.docker(["exec", "-t", "ocilong", "sh", "-c", WAIT_FOR_SIZE], {
        tty: "rows 21 cols 77",
      });
      expect(execTty.stdout).toMatch(/^is-a-tty\r*\nsize 21 77\r*\n$/);
      expect(execTty.code).toBe(0);
      // docker top (runc ps --format json): the container's host process is its stand-in
      const standin = await inspect("ocilong", "{{.State.Pid}}");
      const top = await d.docker(["top", "ocilong", "-o", "pid,args"]);
      expect(top.code).toBe(0);
      expect(top.stdout).toMatch(new RegExp(`^\\s*${standin} .*_standin`, "m"));
      // docker update (runc update --resources -) reaches the container's cgroup in the guest
      const update = await d.docker(["update", "--memory", "256m", "--memory-swap", "256m", "ocilong"]);
      expect(update.stderr).toBe("");
      expect(update.code).toBe(0);
      // the container's cgroup in the guest (no cgroup namespace: /sys/fs/cgroup is the guest's root)
      const limit = await d.docker([
        "exec",
        "ocilong",
        "sh",
        "-c",
        "cat /sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)/memory.max",
      ]);
      expect(limit.stdout).toBe(`${256 * 1024 * 1024}\n`);
      // no caller asks `events --stats` (containerd's runc shim reads host cgroups): asked directly,
      // it answers the guest's figures for the container Docker runs
      const stats = JSON.parse(
        execFileSync(process.execPath, [RUNTIME, "--root", mobyRoot(), "events", "--stats", id], {
          encoding: "utf8",
        }),
      ) as {
        type: string;
        data: {
          cpu: { usage: { total: number } };
          memory: { usage: { usage: number; limit: number } };
          pids: { current: number };
        };
      };
      // runc's shape (libcontainer types.Stats), with the limit `docker update` set
      expect(stats.type).toBe("stats");
      expect(stats.data.cpu.usage.total).toBeGreaterThan(0);
      expect(stats.data.memory.usage.usage).toBeGreaterThan(0);
      expect(stats.data.memory.usage.limit).toBe(256 * 1024 * 1024);
      expect(stats.data.pids.current).toBeGreaterThanOrEqual(2);
      // the VM runs in the container's host cgroup (runc's, from linux.cgroupsPath): docker stats
      // reads it, and shows what the VM costs the host
      const qemu = hostProcessesNaming(id).find((p) => p.includes("qemu-system"));
      expect(qemu).toBeDefined();
      expect(readFileSync(`/proc/${qemu!.split(" ")[0]}/cgroup`, "utf8")).toContain(`/docker/${id}`);
      const cgroups = hostCgroupDirs(`/docker/${id}`, false);
      expect(cgroups.length).toBeGreaterThan(0);
      const stat = await d.docker(["stats", "--no-stream", "--format", "{{.MemUsage}}", "ocilong"]);
      const used = /^([\d.]+)(MiB|GiB) \//.exec(stat.stdout);
      expect(used, stat.stdout).not.toBeNull();
      const mib = Number(used![1]) * (used![2] === "GiB" ? 1024 : 1);
      expect(mib).toBeGreaterThan(20);
      expect(mib).toBeLessThan(2048);
      expect((await d.docker(["kill", "-s", "USR1", "ocilong"])).code).toBe(0);
      expect((await d.docker(["pause", "ocilong"])).code).toBe(0);
      expect(await inspect("ocilong", "{{.State.Status}}")).toBe("paused");
      expect((await d.docker(["unpause", "ocilong"])).code).toBe(0);
      expect(await inspect("ocilong", "{{.State.Status}}")).toBe("running");
      const stopStarted = Date.now();
      expect((await d.docker(["stop", "-t", "2", "ocilong"])).code).toBe(0);
      expect(Date.now() - stopStarted).toBeGreaterThanOrEqual(2000);
      expect(await inspect("ocilong", "{{.State.ExitCode}}")).toBe("137");
      const logs = await d.docker(["logs", "ocilong"]);
      expect(logs.stdout).toBe("started\ngot-usr1\ngot-term\n");
      expect((await d.docker(["rm", "ocilong"])).code).toBe(0);
      expect(await waitForNoLeftovers(id, mobyRoot())).toEqual([]);
      expect(cgroups.filter((c) => existsSync(c))).toEqual([]);
    },
    VM_MS,
  );

  it(
    "a SIGKILLed stand-in takes its VM with it: the container exits 137 and no QEMU or virtiofsd is left",
    async () => {
      const started = await run(["-d", "--name", "ocikilled", IMAGE, "sleep", "600"]);
      expect(started.code).toBe(0);
      const id = started.stdout.trim();
      const pid = Number(await inspect("ocikilled", "{{.State.Pid}}"));
      expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toContain("_standin");
      expect(hostProcessesNaming(id).filter((p) => p.includes("qemu-system"))).toHaveLength(1);
      process.kill(pid, "SIGKILL");
      for (let i = 0; i < 100 && (await inspect("ocikilled", "{{.State.Status}}")) !== "exited"; i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(await inspect("ocikilled", "{{.State.ExitCode}}")).toBe("137");
      // the container is still there (not removed): its VM is already gone
      const deadline = Date.now() + 10_000;
      while (hostProcessesNaming(id).length > 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 200));
      expect(hostProcessesNaming(id)).toEqual([]);
      expect((await d.docker(["rm", "ocikilled"])).code).toBe(0);
      expect(await waitForNoLeftovers(id, mobyRoot())).toEqual([]);
    },
    VM_MS,
  );

  it(
    "a container on a Docker bridge network has its IP in the guest and serves the host; the host's own network is untouched",
    async () => {
      const third = 100 + (process.pid % 150);
      const subnet = `10.231.${third}`;
      const bridge = `tskbr${third}`;
      const hostLinks = () =>
        readdirSync("/sys/class/net").filter((l) => l !== bridge && !l.startsWith("veth"));
      const linksBefore = hostLinks();
      // the host's routes, but for the bridge's own (Docker adds it with the network)
      const hostRoutes = () =>
        readFileSync("/proc/net/route", "utf8")
          .split("\n")
          .filter((l) => !l.startsWith(`${bridge}\t`));
      const routesBefore = hostRoutes();
      const net = await d.docker(
        ["network", "create", "-d", "bridge", "--subnet", `${subnet}.0/24`].concat([
          "-o",
          `com.docker.network.bridge.name=${bridge}`,
          "tsknet",
        ]),
      );
      expect(net.code).toBe(0);
      let id = "";
      try {
        const started = await d.docker(
          [
            "run",
            "-d",
            "--runtime",
            "tskata",
            "--network",
            "tsknet",
            "--name",
            "ociweb",
            IMAGE,
            "sh",
            "-c",
            WEB_SCRIPT,
          ],
          { timeoutMs: VM_MS },
        );
        expect(started.code).toBe(0);
        id = started.stdout.trim();
        const ip = await inspect("ociweb", "{{.NetworkSettings.Networks.tsknet.IPAddress}}");
        expect(ip).toMatch(new RegExp(`^${subnet.replaceAll(".", "\\.")}\\.\\d+$`));
        await expectWebFromGuest(ip, async () => (await d.docker(["logs", "ociweb"])).stdout);
        // libnetwork's hook configured the VM's own netns (QEMU's), not the host's
        expect(hostLinks()).toEqual(linksBefore);
        expect(hostRoutes()).toEqual(routesBefore);
        expect((await d.docker(["rm", "-f", "ociweb"], { timeoutMs: 120_000 })).code).toBe(0);
        expect(await waitForNoLeftovers(id, mobyRoot())).toEqual([]);
      } finally {
        await d.docker(["rm", "-f", "ociweb"], { timeoutMs: 120_000 });
        await d.docker(["network", "rm", "tsknet"]);
      }
    },
    VM_MS,
  );
});
