/**
 * A private dockerd (Debian's docker.io 20.10) for tests and benches: its own data-root,
 * exec-root, pidfile and socket under a temp dir, no iptables, no bridge, the tskata runtime
 * added by path; stopped by its pid. Plus a busybox image in docker-save form for `docker load`.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { buildBusyboxImage } from "../../cli/demo/busybox-image.js";
import { processLines } from "./leftovers.js";

export const DOCKER = "/usr/bin/docker";
export const DOCKERD = "/usr/sbin/dockerd";

export interface DockerResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface PrivateDockerd {
  dir: string;
  socket: string;
  /** The runtime root dockerd gives every runc-style runtime (--root), containers below `moby/`. */
  runtimeRoot: string;
  /** Runs the docker CLI; `tty` runs it under script(1) with those stty settings (e.g. "rows 40 cols 100"). */
  docker(args: string[], opts?: { input?: string; timeoutMs?: number; tty?: string }): Promise<DockerResult>;
  log(): string;
  stop(): Promise<void>;
}

export async function startDockerd(runtimes: Record<string, string>): Promise<PrivateDockerd> {
  const dir = mkdtempSync(join(tmpdir(), "tskata-dockerd-"));
  const socket = join(dir, "docker.sock");
  const pidfile = join(dir, "docker.pid");
  const logFile = join(dir, "dockerd.log");
  const args = [
    "--data-root",
    join(dir, "root"),
    "--exec-root",
    join(dir, "exec"),
    "--pidfile",
    pidfile,
    "-H",
    `unix://${socket}`,
    "--iptables=false",
    "--ip6tables=false",
    "--bridge=none",
    "--storage-driver=overlay2",
    ...Object.entries(runtimes).flatMap(([name, path]) => ["--add-runtime", `${name}=${path}`]),
  ];
  const out = (await import("node:fs")).openSync(logFile, "a");
  const child: ChildProcess = spawn(DOCKERD, args, { stdio: ["ignore", out, out] });
  const docker = (a: string[], o: { input?: string; timeoutMs?: number; tty?: string } = {}) =>
    new Promise<DockerResult>((resolve) => {
      const argv = ["-H", `unix://${socket}`, ...a];
      const quoted = [DOCKER, ...argv].map((x) => `'${x.replaceAll("'", "'\\''")}'`).join(" ");
      const p = execFile(
        o.tty === undefined ? DOCKER : "script",
        o.tty === undefined ? argv : ["-qec", `stty ${o.tty}; ${quoted}`, "/dev/null"],
        { timeout: o.timeoutMs ?? 240_000, maxBuffer: 16 << 20 },
        (err, stdout, stderr) => {
          const code = err
            ? typeof (err as { code?: unknown }).code === "number"
              ? (err as { code: number }).code
              : 1
            : 0;
          resolve({ code, stdout, stderr });
        },
      );
      if (o.input !== undefined) p.stdin?.end(o.input);
      else p.stdin?.end();
    });
  const stop = async () => {
    // Containers first: dockerd's own shutdown gives them 15 s, less than a TCG VM may need, and
    // the runc shims and stand-ins it leaves then outlive it.
    if (child.exitCode === null) {
      const ids = (await docker(["ps", "-aq"], { timeoutMs: 30_000 })).stdout.split("\n").filter(Boolean);
      if (ids.length > 0) await docker(["rm", "-f", ...ids], { timeoutMs: 120_000 });
    }
    if (child.exitCode === null && child.pid) {
      child.kill("SIGTERM");
      for (let i = 0; i < 200 && child.exitCode === null; i++) await sleep(50);
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    // Whatever still names this dockerd's directories is ours: runc shims and stand-ins go by
    // pid; each stand-in's watcher (tskata-runtime's sandbox-reaper.ts) then reaps its VM.
    const watcher = (cmdline: string) => cmdline.startsWith("/bin/sh -c cat >/dev/null");
    for (const pid of processesNaming(dir, (c) => !watcher(c))) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    for (let i = 0; i < 300 && processesNaming(dir, watcher).length > 0; i++) await sleep(100);
    // dockerd's overlay mounts and the exec-root's netns files are below dir
    try {
      execFileSync("sh", [
        "-c",
        `grep -o " ${dir}[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l`,
      ]);
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 300; i++) {
    if (existsSync(socket) && (await docker(["version"], { timeoutMs: 5000 })).code === 0) break;
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  if ((await docker(["version"], { timeoutMs: 5000 })).code !== 0) {
    const log = existsSync(logFile) ? readFileSync(logFile, "utf8") : "";
    await stop();
    throw new Error(`dockerd did not start: ${log.slice(-2000)}`);
  }
  return {
    dir,
    socket,
    runtimeRoot: join(dir, "exec", "runtime-runc"),
    docker,
    log: () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : ""),
    stop,
  };
}

/** Pids of the processes (not this one) whose command line names `path` and passes `also`. */
function processesNaming(path: string, also: (cmdline: string) => boolean): number[] {
  return processLines()
    .map((line) => [Number(line.slice(0, line.indexOf(" "))), line.slice(line.indexOf(" ") + 1)] as const)
    .filter(([, cmdline]) => cmdline.includes(path) && also(cmdline))
    .map(([pid]) => pid);
}

/** The busybox OCI layout tar with a docker-save manifest.json added, so Docker 20.10 loads it. */
export function buildDockerArchive(out: string, name = "localhost/busybox:latest"): string {
  const work = mkdtempSync(join(tmpdir(), "tskata-docker-image-"));
  try {
    const oci = join(work, "oci.tar");
    buildBusyboxImage(oci, name);
    const layout = join(work, "layout");
    execFileSync("mkdir", [layout]);
    execFileSync("tar", ["-C", layout, "-xf", oci]);
    const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")) as {
      manifests: { digest: string }[];
    };
    const blob = (digest: string) => `blobs/sha256/${digest.replace(/^sha256:/, "")}`;
    const manifest = JSON.parse(readFileSync(join(layout, blob(index.manifests[0]!.digest)), "utf8")) as {
      config: { digest: string };
      layers: { digest: string }[];
    };
    writeFileSync(
      join(layout, "manifest.json"),
      JSON.stringify([
        {
          Config: blob(manifest.config.digest),
          RepoTags: [name],
          Layers: manifest.layers.map((l) => blob(l.digest)),
        },
      ]),
    );
    execFileSync("tar", ["-C", layout, "-cf", out, "."]);
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
