/**
 * A private containerd (Debian's 1.6) for tests and the demo: its own root, state and sockets under a temp
 * dir, started by the test and stopped by its PID.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface ContainerdFixture {
  dir: string;
  grpcAddress: string;
  ttrpcAddress: string;
  pid: number;
  /** Runs `ctr -a <grpc socket> ...args` and returns its stdout. */
  ctr(args: string[], opts?: { timeoutMs?: number }): Promise<string>;
  /** Runs ctr to its end whatever its exit code; optional stdin; `tty` runs it under script(1). */
  exec(args: string[], opts?: { input?: string; timeoutMs?: number; tty?: string }): Promise<CtrResult>;
  /** Stops containerd and starts it again on the same root, state and sockets (shims keep running). */
  restart(): Promise<void>;
  /** Starts a long-running ctr (e.g. `events`); the caller kills it. */
  spawnCtr(args: string[]): ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

export interface CtrResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ContainerdOptions {
  /** Extra TOML appended to the generated config. */
  extraConfig?: string;
  /** Directories put first on containerd's PATH (where it finds shim binaries). */
  pathPrefix?: string[];
  /** Keep the CRI plugin (off by default: ctr-driven tests and the demo do not need it). */
  cri?: boolean;
  /**
   * A containerd config.toml to run instead of the generated one (e.g. one `tskata install`
   * wrote): kept as is, with only root, state and the grpc/ttrpc addresses set to this fixture's
   * (so it must not set them itself). `cri` and `extraConfig` do not apply.
   */
  baseConfig?: string;
  /** A command containerd runs under, e.g. `unshare -m …`; it must exec containerd in the end. */
  wrapper?: string[];
}

export async function startContainerd(opts: ContainerdOptions = {}): Promise<ContainerdFixture> {
  const dir = mkdtempSync(join(tmpdir(), "tskata-ctrd-"));
  const grpcAddress = join(dir, "containerd.sock");
  const ttrpcAddress = join(dir, "containerd.sock.ttrpc");
  const config = join(dir, "config.toml");
  const generated =
    opts.baseConfig === undefined
      ? undefined
      : [
          `root = "${dir}/root"`,
          `state = "${dir}/state"`,
          opts.baseConfig,
          "[grpc]",
          `  address = "${grpcAddress}"`,
          "[ttrpc]",
          `  address = "${ttrpcAddress}"`,
          "",
        ].join("\n");
  writeFileSync(
    config,
    generated ??
      [
        "version = 2",
        `root = "${dir}/root"`,
        `state = "${dir}/state"`,
        opts.cri ? "disabled_plugins = []" : 'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
        "[grpc]",
        `  address = "${grpcAddress}"`,
        "[ttrpc]",
        `  address = "${ttrpcAddress}"`,
        opts.extraConfig ?? "",
      ].join("\n"),
  );
  const logFile = join(dir, "containerd.log");
  const out = openSync(logFile, "a");
  const launch = () =>
    spawn(
      opts.wrapper?.[0] ?? "containerd",
      [
        ...(opts.wrapper ?? []).slice(1),
        ...(opts.wrapper ? ["containerd"] : []),
        "--config",
        config,
        "--log-level",
        "debug",
      ],
      {
        stdio: ["ignore", out, out],
        env: { ...process.env, PATH: [...(opts.pathPrefix ?? []), process.env["PATH"] ?? ""].join(":") },
      },
    );
  let child = launch();
  let exited = new Promise<void>((r) => child.once("exit", () => r()));
  const terminate = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(killer);
    }
  };
  const ctr = async (args: string[], opts: { timeoutMs?: number } = {}) => {
    const { stdout } = await run("ctr", ["-a", grpcAddress, ...args], { timeout: opts.timeoutMs ?? 60_000 });
    return stdout;
  };
  const fixture: ContainerdFixture = {
    dir,
    grpcAddress,
    ttrpcAddress,
    get pid() {
      return child.pid!;
    },
    ctr,
    exec: (args, o = {}) =>
      new Promise<CtrResult>((resolve, reject) => {
        const argv = ["-a", grpcAddress, ...args];
        // script(1) gives ctr a terminal; `tty` holds stty settings applied first (e.g. "rows 40 cols 100").
        const quoted = ["ctr", ...argv].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
        const child =
          o.tty === undefined
            ? spawn("ctr", argv, { stdio: ["pipe", "pipe", "pipe"] })
            : spawn("script", ["-qec", `stty ${o.tty}; ${quoted}`, "/dev/null"], {
                stdio: ["ignore", "pipe", "pipe"],
              });
        let stdout = "";
        let stderr = "";
        child.stdout!.on("data", (d: Buffer) => {
          stdout += d.toString();
        });
        child.stderr!.on("data", (d: Buffer) => {
          stderr += d.toString();
        });
        const timer = setTimeout(() => {
          child.kill("SIGKILL");
          reject(
            new Error(
              `ctr ${args.join(" ")}: no exit within ${o.timeoutMs ?? 60_000} ms\n${stdout}\n${stderr}`,
            ),
          );
        }, o.timeoutMs ?? 60_000);
        child.once("error", reject);
        child.once("close", (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr });
        });
        // ctr may exit (e.g. a refused task) before reading its stdin: EPIPE is not an error here.
        child.stdin?.on("error", () => {});
        child.stdin?.end(o.input ?? "");
      }),
    spawnCtr: (args) => spawn("ctr", ["-a", grpcAddress, ...args], { stdio: ["ignore", "pipe", "pipe"] }),
    log: () => readFileSync(logFile, "utf8"),
    async restart() {
      await terminate();
      child = launch();
      exited = new Promise<void>((r) => child.once("exit", () => r()));
      await waitServing();
    },
    async stop() {
      await terminate();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  async function waitServing(): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`containerd exited early:\n${fixture.log()}`);
      if (existsSync(grpcAddress) && existsSync(ttrpcAddress)) {
        try {
          await ctr(["version"], { timeoutMs: 5000 });
          return;
        } catch {
          // not serving yet
        }
      }
      if (Date.now() > deadline) throw new Error("containerd did not start serving within 20 s");
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    await waitServing();
  } catch (err) {
    await fixture.stop();
    throw err;
  }
  return fixture;
}
