/**
 * `tskata-runtime`, runc's command line, driven by real runc callers from Debian: containerd's
 * runc shim with BinaryName (`ctr run --runc-binary`) and Docker 20.10 (`--runtime tskata`).
 * and podman (`--runtime`, through conmon). Every container is its own VM (TCG here): 6 boots.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBusyboxImage } from "../../cli/demo/busybox-image.js";
import { type ContainerdFixture, startContainerd } from "../../cli/demo/private-containerd.js";
import { buildDockerArchive, type PrivateDockerd, startDockerd } from "../support/private-dockerd.js";

const REPO = join(import.meta.dirname, "../..");
const RUNTIME = join(REPO, "dist/cli/runtime/main.js");
const IMAGE = "localhost/busybox:latest";
const VM_MS = 240_000;
const hostKernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();

/** QEMU processes whose command line names `id` (a container's VM). */
function vmProcesses(id: string): string[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .map((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, "utf8").replaceAll("\0", " ");
      } catch {
        return "";
      }
    })
    .filter((c) => c.includes("qemu-system") && c.includes(id));
}

let scratch: string;
beforeAll(() => {
  execFileSync(join(REPO, "node_modules/.bin/tsc"), ["-p", "tsconfig.build.json"], { cwd: REPO });
  scratch = mkdtempSync(join(tmpdir(), "tskata-oci-"));
}, 120_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("containerd's runc shim with BinaryName = tskata-runtime", () => {
  let ctrd: ContainerdFixture;
  beforeAll(async () => {
    ctrd = await startContainerd({});
    await ctrd.ctr(["images", "import", buildBusyboxImage(join(scratch, "bb.tar"))]);
  }, 120_000);
  afterAll(async () => ctrd?.stop());

  it(
    "ctr run prints output from the guest kernel and propagates the exit code",
    async () => {
      const r = await ctrd.exec(
        [
          "run",
          "--runtime",
          "io.containerd.runc.v2",
          "--runc-binary",
          RUNTIME,
          "--rm",
          IMAGE,
          "oci1",
          "sh",
          "-c",
          "echo hi; uname -r; exit 3",
        ],
        { timeoutMs: VM_MS },
      );
      expect(r.stdout).toMatch(/^hi\n6\.1\.0-.*-cloud-amd64\n$/);
      expect(r.stdout).not.toContain(hostKernel);
      expect(r.code).toBe(3);
      expect(vmProcesses("oci1")).toEqual([]);
    },
    VM_MS,
  );
});

describe("Docker 20.10 with --runtime tskata", () => {
  let d: PrivateDockerd;
  const run = (args: string[], input?: string) =>
    d.docker(["run", "--runtime", "tskata", "--network", "none", ...args], {
      timeoutMs: VM_MS,
      ...(input !== undefined ? { input } : {}),
    });
  beforeAll(async () => {
    d = await startDockerd({ tskata: RUNTIME });
    const load = await d.docker(["load", "-i", buildDockerArchive(join(scratch, "docker.tar"))]);
    expect(load.stdout).toContain(`Loaded image: ${IMAGE}`);
  }, 120_000);
  afterAll(async () => d?.stop());

  it("docker info lists the tskata runtime", async () => {
    const r = await d.docker(["info", "--format", "{{json .Runtimes}}"]);
    expect(Object.keys(JSON.parse(r.stdout) as object)).toContain("tskata");
  });

  it(
    "docker run --rm prints hi from the guest kernel, propagates the exit code and leaves nothing",
    async () => {
      const r = await run(["--rm", "--name", "ocirun", IMAGE, "sh", "-c", "echo hi; uname -r; exit 5"]);
      expect(r.stdout).toMatch(/^hi\n6\.1\.0-.*-cloud-amd64\n$/);
      expect(r.code).toBe(5);
      expect((await d.docker(["ps", "-aq"])).stdout).toBe("");
      expect(existsSync(join(d.runtimeRoot, "moby")) ? readdirSync(join(d.runtimeRoot, "moby")) : []).toEqual(
        [],
      );
    },
    VM_MS,
  );

  it(
    "docker run -i passes stdin through to the guest process",
    async () => {
      const r = await run(["--rm", "-i", IMAGE, "sh", "-c", "cat; echo done"], "from stdin\n");
      expect(r.stdout).toBe("from stdin\ndone\n");
      expect(r.code).toBe(0);
    },
    VM_MS,
  );

  it(
    "docker run -t gives the guest process a terminal",
    async () => {
      const r = await run(["--rm", "-t", IMAGE, "sh", "-c", "test -t 0 && test -t 1 && echo is-a-tty"]);
      expect(r.stdout).toBe("is-a-tty\r\n");
      expect(r.code).toBe(0);
    },
    VM_MS,
  );

  it(
    "a detached container: exec, kill -s, pause/unpause, stop (SIGTERM), logs, and nothing left after rm",
    async () => {
      const script =
        'trap "echo got-usr1" USR1; trap "echo got-term; exit 7" TERM; echo started; while true; do sleep 0.2; done';
      const started = await run(["-d", "--name", "ocilong", IMAGE, "sh", "-c", script]);
      expect(started.code).toBe(0);
      const id = started.stdout.trim();
      const exec = await d.docker(["exec", "ocilong", "sh", "-c", "echo from-exec; uname -r; exit 4"]);
      expect(exec.stdout).toMatch(/^from-exec\n6\.1\.0-.*-cloud-amd64\n$/);
      expect(exec.code).toBe(4);
      expect((await d.docker(["kill", "-s", "USR1", "ocilong"])).code).toBe(0);
      expect((await d.docker(["pause", "ocilong"])).code).toBe(0);
      expect((await d.docker(["inspect", "-f", "{{.State.Status}}", "ocilong"])).stdout.trim()).toBe(
        "paused",
      );
      expect((await d.docker(["unpause", "ocilong"])).code).toBe(0);
      expect((await d.docker(["inspect", "-f", "{{.State.Status}}", "ocilong"])).stdout.trim()).toBe(
        "running",
      );
      expect((await d.docker(["stop", "-t", "30", "ocilong"])).code).toBe(0);
      expect((await d.docker(["inspect", "-f", "{{.State.ExitCode}}", "ocilong"])).stdout.trim()).toBe("7");
      const logs = await d.docker(["logs", "ocilong"]);
      expect(logs.stdout).toBe("started\ngot-usr1\ngot-term\n");
      expect((await d.docker(["rm", "ocilong"])).code).toBe(0);
      expect(existsSync(join(d.runtimeRoot, "moby", id))).toBe(false);
      expect(vmProcesses(id)).toEqual([]);
    },
    VM_MS,
  );
});

describe("podman with --runtime tskata-runtime", () => {
  let dir: string;
  let base: string[];
  const podman = (args: string[], input = "") =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const p = execFile("podman", [...base, ...args], { timeout: VM_MS }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
      );
      p.stdin?.end(input);
    });
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tskata-podman-"));
    base = ["--root", join(dir, "storage"), "--runroot", join(dir, "run"), "--cgroup-manager", "cgroupfs"];
    base.push("--events-backend", "file", "--storage-driver", "overlay");
    const load = await podman(["load", "-i", buildDockerArchive(join(dir, "image.tar"))]);
    expect(load.stdout).toContain(`Loaded image: ${IMAGE}`);
  }, 120_000);
  afterAll(() => {
    try {
      execFileSync("sh", [
        "-c",
        `grep -o " ${dir}[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l`,
      ]);
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    "podman run --rm -i prints output from the guest kernel, passes stdin and the exit code, leaves nothing",
    async () => {
      const r = await podman(
        [
          "--runtime",
          RUNTIME,
          "run",
          "--rm",
          "-i",
          "--network",
          "none",
          IMAGE,
          "sh",
          "-c",
          "echo hi; uname -r; cat; exit 6",
        ],
        "from stdin\n",
      );
      expect(r.stdout).toMatch(/^hi\n6\.1\.0-.*-cloud-amd64\nfrom stdin\n$/);
      expect(r.code).toBe(6);
      expect((await podman(["ps", "-aq"])).stdout).toBe("");
    },
    VM_MS,
  );
});
