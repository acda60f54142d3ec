/**
 * Everything a VM start creates for one sandbox, recorded as it is created and persisted to
 * `<state dir>/sandboxes/<id>/resources.json`, so that stop, a failed start, or a later
 * `delete` after a shim crash can tear it all down: helper processes (identified by pid + start
 * time), sockets and the sandbox directory. The directory is only removed when nothing is
 * mounted below it (removing through a live mount would delete the mounted data).
 *
 * The sockets (QMP, agent, virtiofsd, and the shim's admin endpoint) live apart from the sandbox directory, in
 * `<state dir>/s/<first 16 hex digits of sha256(id)>/`: their paths have the same length
 * whatever the sandbox id (a unix socket path is limited to 108 bytes; containerd accepts
 * 76-character ids).
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { detachPodNetwork } from "../network/pod-network.js";
import type { PodNetworkRecord } from "../network/types.js";
import { HypervisorError } from "./errors.js";
import { identify, isAlive, type ProcessIdentity, terminate } from "./process-identity.js";

export type ProcessRole = "qemu" | "virtiofsd";

export interface ResourceRecord {
  version: 1;
  sandboxId: string;
  dir: string;
  /** Where the sockets are (absent in records of older versions: they were in `dir`). */
  socketDir?: string;
  /** The shim's admin endpoint (`tskata list/inspect/exec/metrics`); absent in older records. */
  adminSocket?: string;
  createdAt: string;
  /** The shim process that created the sandbox (absent in records of older versions). */
  owner?: ProcessIdentity;
  processes: (ProcessIdentity & { role: ProcessRole })[];
  /** The pod netns QEMU ran in and the taps attached there (removed at teardown). */
  network?: PodNetworkRecord;
}

export interface SandboxPaths {
  dir: string;
  /** Fixed-length directory of the sandbox's sockets. */
  socketDir: string;
  shared: string;
  qmpSocket: string;
  agentSocket: string;
  virtiofsdSocket: string;
  /** The shim's admin endpoint (shim/admin). */
  adminSocket: string;
  consoleLog: string;
  record: string;
}

export interface TeardownReport {
  processes: { role: ProcessRole; pid: number; outcome: string }[];
  /** What became of the recorded taps and redirects, when a network was recorded. */
  network?: string;
  removedDir: boolean;
}

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const SUN_PATH_MAX = 107;

export function sandboxPaths(stateDir: string, sandboxId: string): SandboxPaths {
  if (!ID_PATTERN.test(sandboxId)) {
    throw new HypervisorError(
      "SANDBOX_ID_INVALID",
      `invalid sandbox id ${JSON.stringify(sandboxId)}: expected 1-128 characters of [A-Za-z0-9_.-], not starting with . _ or -`,
    );
  }
  const dir = join(stateDir, "sandboxes", sandboxId);
  const socketDir = sandboxSocketDir(stateDir, sandboxId);
  const paths: SandboxPaths = {
    dir,
    socketDir,
    shared: join(dir, "shared"),
    qmpSocket: join(socketDir, "qmp.sock"),
    agentSocket: join(socketDir, "agent.sock"),
    virtiofsdSocket: join(socketDir, "virtiofsd.sock"),
    adminSocket: join(socketDir, "admin.sock"),
    consoleLog: join(dir, "console.log"),
    record: join(dir, "resources.json"),
  };
  const longest = [paths.qmpSocket, paths.agentSocket, paths.virtiofsdSocket].sort(
    (a, b) => b.length - a.length,
  )[0]!;
  if (Buffer.byteLength(longest) > SUN_PATH_MAX) {
    throw new HypervisorError(
      "SANDBOX_PATH_TOO_LONG",
      `socket path ${longest} is longer than ${SUN_PATH_MAX} bytes; use a shorter runtime.state_dir`,
    );
  }
  return paths;
}

/** `<state dir>/s/<16 hex digits of sha256(sandbox id)>`: the same length for every id. */
export function sandboxSocketDir(stateDir: string, sandboxId: string): string {
  return join(stateDir, "s", createHash("sha256").update(sandboxId).digest("hex").slice(0, 16));
}

export class SandboxResources {
  private torn: Promise<TeardownReport> | undefined;

  private constructor(
    readonly paths: SandboxPaths,
    private readonly record: ResourceRecord,
  ) {}

  /**
   * Creates the sandbox directory and its record. An existing directory is refused while its
   * owner (the shim that created it) or any recorded process still runs; otherwise it is the
   * leftover of a crash nobody cleaned up, and is torn down first.
   */
  static async create(stateDir: string, sandboxId: string): Promise<SandboxResources> {
    const paths = sandboxPaths(stateDir, sandboxId);
    await mkdir(join(stateDir, "sandboxes"), { recursive: true, mode: 0o711 });
    for (let attempt = 0; ; attempt++) {
      try {
        await mkdir(paths.dir, { mode: 0o700 });
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        const stale = await SandboxResources.load(stateDir, sandboxId);
        const live = stale ? await stale.liveProcesses() : [];
        if (attempt > 0 || live.length > 0) {
          const who = live.map((p) => `${p.role} ${p.pid}`).join(", ");
          throw new HypervisorError(
            "SANDBOX_EXISTS",
            `sandbox directory ${paths.dir} already exists${who ? ` and is in use (${who})` : ""}`,
          );
        }
        await stale?.teardown();
      }
    }
    await mkdir(paths.shared, { mode: 0o755 });
    await mkdir(join(stateDir, "s"), { recursive: true, mode: 0o711 });
    await rm(paths.socketDir, { recursive: true, force: true });
    await mkdir(paths.socketDir, { mode: 0o700 });
    const resources = new SandboxResources(paths, {
      version: 1,
      sandboxId,
      dir: paths.dir,
      socketDir: paths.socketDir,
      adminSocket: paths.adminSocket,
      createdAt: new Date().toISOString(),
      owner: (await identify(process.pid)) ?? { pid: process.pid, startTime: "" },
      processes: [],
    });
    await resources.persist();
    return resources;
  }

  /** The owner and recorded processes that are still the same running processes. */
  async liveProcesses(): Promise<{ role: ProcessRole | "owner"; pid: number }[]> {
    const candidates = [
      ...(this.record.owner ? [{ ...this.record.owner, role: "owner" as const }] : []),
      ...this.record.processes,
    ];
    const live: { role: ProcessRole | "owner"; pid: number }[] = [];
    for (const p of candidates)
      if (p.startTime && (await isAlive(p))) live.push({ role: p.role, pid: p.pid });
    return live;
  }

  /** Reads what a previous (possibly crashed) shim recorded; undefined when nothing is there. */
  static async load(stateDir: string, sandboxId: string): Promise<SandboxResources | undefined> {
    const paths = sandboxPaths(stateDir, sandboxId);
    let record: ResourceRecord;
    try {
      record = JSON.parse(await readFile(paths.record, "utf8")) as ResourceRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      if (!(await stat(paths.dir).catch(() => undefined))) return undefined;
      record = { version: 1, sandboxId, dir: paths.dir, createdAt: "", processes: [] };
    }
    return new SandboxResources(paths, record);
  }

  /** What was recorded (read-only view, for `tskata list` and the admin endpoint). */
  get recorded(): Readonly<ResourceRecord> {
    return this.record;
  }

  get processes(): readonly (ProcessIdentity & { role: ProcessRole })[] {
    return this.record.processes;
  }

  /** Records the pod network the VM is plugged into, before QEMU starts. */
  async setNetwork(network: PodNetworkRecord): Promise<void> {
    this.record.network = network;
    await this.persist();
  }

  async addProcess(role: ProcessRole, pid: number): Promise<ProcessIdentity> {
    const id = (await identify(pid)) ?? { pid, startTime: "" };
    this.record.processes.push({ ...id, role });
    await this.persist();
    return id;
  }

  /**
   * Makes this process the owner of a sandbox another process created (a VM adopted from the
   * warm pool, whose directory was renamed to this sandbox's): the record names this sandbox,
   * its directory and this process from now on, so crash cleanup (`delete`) finds it all.
   */
  async claim(): Promise<void> {
    this.record.sandboxId = basename(this.paths.dir);
    this.record.dir = this.paths.dir;
    this.record.socketDir = this.paths.socketDir;
    this.record.adminSocket = this.paths.adminSocket;
    this.record.owner = (await identify(process.pid)) ?? { pid: process.pid, startTime: "" };
    await this.persist();
  }

  /**
   * Kills every recorded process still alive (virtiofsd last: it exits by itself when QEMU goes),
   * then removes the sandbox directory. Idempotent; concurrent calls share one teardown; after a
   * failed one, the next call tries again.
   */
  teardown(graceMs = 1000): Promise<TeardownReport> {
    // A teardown that failed (e.g. a mount still below the directory) runs again when asked.
    this.torn ??= this.doTeardown(graceMs).catch((err: unknown) => {
      this.torn = undefined;
      throw err;
    });
    return this.torn;
  }

  private async doTeardown(graceMs: number): Promise<TeardownReport> {
    const report: TeardownReport = { processes: [], removedDir: false };
    const order: ProcessRole[] = ["qemu", "virtiofsd"];
    for (const role of order) {
      for (const p of this.record.processes.filter((x) => x.role === role)) {
        const outcome = p.startTime ? await terminate(p, graceMs) : "unknown identity, left alone";
        report.processes.push({ role, pid: p.pid, outcome });
        if (outcome === "survived") {
          throw new HypervisorError("CLEANUP_FAILED", `${role} pid ${p.pid} survived SIGKILL`);
        }
      }
    }
    if (this.record.network && !this.record.network.ownNetns) {
      // after QEMU is gone (it holds the taps); the netns itself is CNI's and stays. QEMU's own
      // netns went with QEMU, taps and all.
      const { netnsPath, tapNames } = this.record.network;
      try {
        await detachPodNetwork(this.record.network);
        report.network = `taps ${tapNames.join(", ")} in ${netnsPath} removed`;
      } catch (err) {
        throw new HypervisorError("CLEANUP_FAILED", `pod network: ${(err as Error).message}`, { cause: err });
      }
    }
    const mounts = await mountsBelow(this.paths.dir);
    if (mounts.length > 0) {
      throw new HypervisorError(
        "CLEANUP_FAILED",
        `not removing ${this.paths.dir}: still mounted below it: ${mounts.join(", ")}`,
      );
    }
    await rm(this.paths.dir, { recursive: true, force: true });
    for (const d of new Set([this.paths.socketDir, this.record.socketDir ?? this.paths.socketDir]))
      await rm(d, { recursive: true, force: true });
    report.removedDir = true;
    return report;
  }

  private async persist(): Promise<void> {
    const tmp = `${this.paths.record}.tmp`;
    await writeFile(tmp, JSON.stringify(this.record, null, 2));
    await rename(tmp, this.paths.record);
  }
}

/** Mount points at or below `dir` (from /proc/self/mountinfo, octal escapes decoded). */
export async function mountsBelow(dir: string): Promise<string[]> {
  const text = await readFile("/proc/self/mountinfo", "utf8");
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  return text
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(prefix));
}

/** `delete` after a crash: tear down whatever the record names. Returns undefined if none. */
export async function cleanupSandbox(
  stateDir: string,
  sandboxId: string,
): Promise<TeardownReport | undefined> {
  const resources = await SandboxResources.load(stateDir, sandboxId);
  return resources?.teardown();
}
