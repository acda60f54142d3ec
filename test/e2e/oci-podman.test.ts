/**
 * podman (Debian's, through conmon) with `--runtime` = `tskata-runtime`: the same cases as Docker
 * — output from the guest kernel, exit codes, stdin, a terminal, exec, kill -s, pause/unpause
 * (cgroupfs manager), stop (SIGTERM, then SIGKILL), logs — and nothing left after rm. podman runs
 * with its own storage and run root under a temp dir; three containers, so three VM boots.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_ROOT } from "../../cli/runtime/state-store.js";
import {
  buildRuntime,
  expectHiFromGuest,
  expectWebFromGuest,
  IMAGE,
  RUNTIME,
  TRAP_SCRIPT,
  VM_MS,
  WEB_SCRIPT,
  waitForNoLeftovers,
} from "../support/oci-fixtures.js";
import { buildDockerArchive } from "../support/private-dockerd.js";

let dir: string;
let base: string[];
/**
 * podman passes the runtime no `--root` (and its cleanup drops `--runtime-flag`s): containers
 * live under the runtime's default root.
 */
const runtimeRoot = () => DEFAULT_ROOT;

/** Runs podman; `tty` runs it under script(1) with those stty settings (e.g. "rows 40 cols 100"). */
function podman(
  args: string[],
  input = "",
  tty?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const argv = [...base, ...args];
  const quoted = ["podman", ...argv].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  return new Promise((resolve) => {
    const p = execFile(
      tty === undefined ? "podman" : "script",
      tty === undefined ? argv : ["-qec", `stty ${tty}; ${quoted}`, "/dev/null"],
      { timeout: VM_MS },
      (err, stdout, stderr) =>
        resolve({
          code: err ? (typeof err.code === "number" ? err.code : 1) : 0,
          stdout,
          stderr,
        }),
    );
    p.stdin?.end(input);
  });
}
const run = (args: string[], input?: string) =>
  podman(["run", "--network", "none", "--log-driver", "k8s-file", ...args], input);
const inspect = async (name: string, format: string) =>
  (await podman(["inspect", "-f", format, name])).stdout.trim();

beforeAll(async () => {
  buildRuntime();
  dir = mkdtempSync(join(tmpdir(), "tskata-podman-"));
  base = [
    "--root",
    join(dir, "storage"),
    "--runroot",
    join(dir, "run"),
    "--tmpdir",
    join(dir, "tmp"),
    "--cgroup-manager",
    "cgroupfs",
    "--events-backend",
    "file",
    "--storage-driver",
    "overlay",
    "--runtime",
    RUNTIME,
  ];
  const load = await podman(["load", "-i", buildDockerArchive(join(dir, "image.tar"))]);
  expect(load.stdout).toContain(`Loaded image: ${IMAGE}`);
}, 180_000);
afterAll(() => {
  // podman's overlay mounts of the image store are below dir
  try {
    execFileSync("sh", ["-c", `grep -o " ${dir}[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l`]);
  } catch {}
  rmSync(dir, { recursive: true, force: true });
});

describe("podman with --runtime tskata-runtime", () => {
  it(
    "podman run --rm -i prints from the guest kernel, passes stdin and the exit code, and leaves nothing",
    async () => {
      const cidFile = join(dir, "pdrun.cid");
      const r = await run(
        ["--rm", "-i", "--cidfile", cidFile, IMAGE, "sh", "-c", "echo hi; uname -r; cat; exit 6"],
        "from stdin\n",
      );
      const [echoed] = expectHiFromGuest(r.stdout);
      expect(echoed).toBe("from stdin");
      expect(r.code).toBe(6);
      expect((await podman(["ps", "-aq"])).stdout).toBe("");
      const id = readFileSync(cidFile, "utf8").trim();
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      expect(await waitForNoLeftovers(id, runtimeRoot())).toEqual([]);
    },
    VM_MS,
  );

  it(
    "podman run -t gives the guest process a terminal with the caller's window size",
    async () => {
      // podman runs in a terminal of 33 rows and 111 columns (script(1)); conmon sets that size on
      // the pty master it got from the runtime, and the guest's terminal follows
      const guest =
        'test -t 0 && test -t 1 && echo is-a-tty; for i in $(seq 50); do stty size 2>/dev/null | grep -q "^[1-9]" && break; sleep 0.1; done; printf "size "; stty size';
      const r = await podman(
        ["run", "--network", "none", "--rm", "-t", IMAGE, "sh", "-c", guest],
        "",
        "rows 33 cols 111",
      );
      expect(r.stdout).toMatch(/^is-a-tty\r*\nsize 33 111\r*\n$/);
      expect(r.code).toBe(0);
    },
    VM_MS,
  );

  it(
    "a detached container: exec, kill -s, pause/unpause, stop (SIGTERM, then SIGKILL when ignored), logs; nothing left after rm",
    async () => {
      const started = await run(["-d", "--name", "pdlong", IMAGE, "sh", "-c", TRAP_SCRIPT]);
      expect(started.stderr).toBe("");
      expect(started.code).toBe(0);
      const id = started.stdout.trim();
      expect(existsSync(join(runtimeRoot(), id, "state.json"))).toBe(true);
      const exec = await podman(["exec", "pdlong", "sh", "-c", "echo from-exec; uname -r; exit 4"]);
      expect(exec.stdout).toMatch(/^from-exec\n6\.1\.0-.*-cloud-amd64\n$/);
      expect(exec.code).toBe(4);
      expect((await podman(["kill", "-s", "USR1", "pdlong"])).code).toBe(0);
      expect((await podman(["pause", "pdlong"])).code).toBe(0);
      expect(await inspect("pdlong", "{{.State.Status}}")).toBe("paused");
      expect((await podman(["unpause", "pdlong"])).code).toBe(0);
      expect(await inspect("pdlong", "{{.State.Status}}")).toBe("running");
      const stopStarted = Date.now();
      expect((await podman(["stop", "-t", "2", "pdlong"])).code).toBe(0);
      expect(Date.now() - stopStarted).toBeGreaterThanOrEqual(2000);
      expect(await inspect("pdlong", "{{.State.ExitCode}}")).toBe("137");
      const logs = await podman(["logs", "pdlong"]);
      expect(logs.stdout).toBe("started\ngot-usr1\ngot-term\n");
      expect((await podman(["rm", "pdlong"])).code).toBe(0);
      expect(await waitForNoLeftovers(id, runtimeRoot())).toEqual([]);
    },
    VM_MS,
  );

  it(
    "a container on a podman bridge network has its IP in the guest and serves the host",
    async () => {
      const third = 100 + (process.pid % 150);
      const net = `tsknetp${third}`;
      const created = await podman(["network", "create", "--subnet", `10.232.${third}.0/24`, net]);
      expect(created.code).toBe(0);
      // the host bridge CNI makes for it (cni-podmanN): removed again at the end
      const bridge = (await podman(["network", "inspect", "-f", "{{.NetworkInterface}}", net])).stdout.trim();
      let id = "";
      try {
        const started = await podman([
          "run",
          "-d",
          "--log-driver",
          "k8s-file",
          "--network",
          net,
          "--name",
          "pdweb",
          IMAGE,
          "sh",
          "-c",
          WEB_SCRIPT,
        ]);
        expect(started.code).toBe(0);
        id = started.stdout.trim();
        const ip = await inspect("pdweb", `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`);
        expect(ip).toMatch(new RegExp(`^10\\.232\\.${third}\\.\\d+$`));
        await expectWebFromGuest(ip, async () => (await podman(["logs", "pdweb"])).stdout);
        expect((await podman(["rm", "-f", "pdweb"])).code).toBe(0);
        expect(await waitForNoLeftovers(id, runtimeRoot())).toEqual([]);
      } finally {
        await podman(["rm", "-f", "pdweb"]);
        await podman(["network", "rm", "-f", net]);
        // CNI's bridge plugin leaves the bridge it made
        try {
          execFileSync("ip", ["link", "del", bridge], { stdio: "ignore" });
        } catch {}
      }
    },
    VM_MS,
  );
});
