/**
 * The commands of `tskata-runtime`, runc's command line over the stand-ins (standin.ts): each
 * reads the container's record under --root, talks to its stand-in's control socket, and
 * answers as runc does.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { kill as killPid } from "../../native/process.js";
import { checkId, type FlagValues, parseSignal } from "./args.js";
import { callControl } from "./control.js";
import { notFound, RuntimeError } from "./errors.js";
import { hostCgroupDirs, removeHostCgroups } from "./host-cgroup.js";
import { launchStandin } from "./launch-standin.js";
import { runcStats } from "./runc-stats.js";
import { reapSandbox } from "./sandbox-reaper.js";
import { defaultSpec, features } from "./spec-template.js";
import {
  type ContainerRecord,
  controlSocket,
  exists,
  listIds,
  loadContainer,
  makeContainerDir,
  readRecord,
  removeContainerDir,
  standinAlive,
} from "./state-store.js";

export const VERSION = "0.1.0";
export const SPEC_VERSION = "1.0.2";

export interface Context {
  root: string;
  debug: boolean;
  /** `--systemd-cgroup`: cgroupsPath names a systemd unit (left to systemd). */
  systemdCgroup?: boolean;
  out: (text: string) => void;
}

interface BundleSpec {
  ociVersion?: string;
  process?: { terminal?: boolean; env?: string[]; cwd?: string; user?: { uid: number; gid: number } };
  annotations?: Record<string, string>;
  linux?: { cgroupsPath?: string };
}

export function readBundle(bundle: string): BundleSpec {
  const file = join(bundle, "config.json");
  if (!existsSync(bundle))
    throw new RuntimeError("RUNTIME_BAD_BUNDLE", `chdir ${bundle}: no such file or directory`);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new RuntimeError("RUNTIME_BAD_BUNDLE", `JSON specification file ${file} not found`);
  }
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch (err) {
    throw new RuntimeError(
      "RUNTIME_BAD_BUNDLE",
      `JSON specification file ${file}: ${(err as Error).message}`,
    );
  }
  if (typeof spec !== "object" || spec === null || Array.isArray(spec))
    throw new RuntimeError("RUNTIME_BAD_BUNDLE", `JSON specification file ${file}: not a JSON object`);
  const s = spec as BundleSpec;
  if (typeof s.process !== "object" || s.process === null)
    throw new RuntimeError("RUNTIME_BAD_BUNDLE", `JSON specification file ${file}: process is required`);
  return s;
}

function writePidFile(path: string | undefined, pid: number): void {
  if (!path) return;
  // runc writes it atomically: a temp file renamed into place
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, String(pid));
  renameSync(tmp, path);
}

export async function create(ctx: Context, id: string, f: FlagValues): Promise<number> {
  checkId(id);
  const bundle = resolve((f.bundle as string | undefined) ?? process.cwd());
  const spec = readBundle(bundle);
  if (exists(ctx.root, id)) throw new RuntimeError("RUNTIME_EXISTS", `container with id exists: ${id}`);
  const terminal = spec.process?.terminal === true;
  if (terminal && !f["console-socket"])
    throw new RuntimeError(
      "RUNTIME_BAD_INPUT",
      "cannot allocate tty if runc will detach without setting console socket",
    );
  makeContainerDir(ctx.root, id);
  const hostCgroups = hostCgroupDirs(spec.linux?.cgroupsPath, ctx.systemdCgroup === true);
  try {
    const standin = await launchStandin({
      kind: "container",
      root: ctx.root,
      id,
      bundle,
      consoleSocket: f["console-socket"] as string | undefined,
      terminal,
      annotations: spec.annotations ?? {},
      ociVersion: spec.ociVersion ?? SPEC_VERSION,
      debug: ctx.debug,
      hostCgroups,
    });
    writePidFile(f["pid-file"] as string | undefined, standin.pid);
    return 0;
  } catch (err) {
    await removeHostCgroups(hostCgroups).catch(() => {});
    removeContainerDir(ctx.root, id);
    throw err;
  }
}

export async function start(ctx: Context, id: string): Promise<number> {
  const r = loadContainer(ctx.root, id);
  if (r.status === "stopped")
    throw new RuntimeError("RUNTIME_WRONG_STATE", "cannot start a container that has stopped");
  if (r.status !== "created")
    throw new RuntimeError("RUNTIME_WRONG_STATE", "cannot start an already running container");
  await callControl(controlSocket(ctx.root, id), { op: "start" });
  return 0;
}

function stateJson(r: ContainerRecord): object {
  return {
    ociVersion: r.ociVersion,
    id: r.id,
    pid: r.status === "stopped" ? 0 : r.pid,
    status: r.status === "creating" ? "creating" : r.status,
    bundle: r.bundle,
    rootfs: join(r.bundle, "rootfs"),
    created: r.created,
    owner: "",
    annotations: r.annotations,
  };
}

export function state(ctx: Context, id: string): number {
  ctx.out(`${JSON.stringify(stateJson(loadContainer(ctx.root, id)), null, 2)}\n`);
  return 0;
}

export async function kill(
  ctx: Context,
  id: string,
  signalArg: string | undefined,
  f: FlagValues,
): Promise<number> {
  const signal = parseSignal(signalArg ?? "SIGTERM");
  const r = loadContainer(ctx.root, id);
  if (r.status === "stopped") throw new RuntimeError("RUNTIME_WRONG_STATE", "container not running");
  await callControl(controlSocket(ctx.root, id), { op: "kill", signal, all: f.all === true });
  return 0;
}

async function waitGone(r: ContainerRecord, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!standinAlive(r)) return true;
    await sleep(50);
  }
  return !standinAlive(r);
}

export async function del(ctx: Context, id: string, f: FlagValues): Promise<number> {
  const force = f.force === true;
  const raw = readRecord(ctx.root, id);
  if (!raw) {
    // an aborted create may leave the directory without a record
    if (exists(ctx.root, id)) removeContainerDir(ctx.root, id);
    if (force) return 0;
    throw notFound();
  }
  const r = loadContainer(ctx.root, id);
  if ((r.status === "running" || r.status === "paused") && !force)
    throw new RuntimeError(
      "RUNTIME_WRONG_STATE",
      `cannot delete container ${id} that is not stopped: ${r.status}`,
    );
  let cleanExit = raw.status === "stopped";
  if (standinAlive(r)) {
    await callControl(controlSocket(ctx.root, id), { op: "destroy" }).catch(() => undefined);
    if (!(await waitGone(r, 60_000))) {
      killPid(r.pid, 9);
      await waitGone(r, 5_000);
    }
    cleanExit = readRecord(ctx.root, id)?.status === "stopped";
  }
  // a stand-in that died without stopping its VM (killed, crashed): what it held goes now
  if (!cleanExit)
    await reapSandbox({ root: ctx.root, id }).catch((err: unknown) => {
      // the record still goes: runc's delete --force never fails on what the container held
      process.stderr.write(`cleaning up the VM of ${id}: ${(err as Error).message}\n`);
    });
  await removeHostCgroups(raw.hostCgroups ?? []).catch((err: unknown) => {
    process.stderr.write(`removing the host cgroup of ${id}: ${(err as Error).message}\n`);
  });
  removeContainerDir(ctx.root, id);
  return 0;
}

function processFromFlags(spec: BundleSpec, args: string[], f: FlagValues): object {
  const base = spec.process ?? {};
  const user = f.user as string | undefined;
  let uid = base.user?.uid ?? 0;
  let gid = base.user?.gid ?? 0;
  if (user) {
    const [u, g] = user.split(":");
    if (!/^\d+$/.test(u ?? "") || (g !== undefined && !/^\d+$/.test(g)))
      throw new RuntimeError("RUNTIME_BAD_INPUT", `parsing ${user} as uid[:gid] failed`);
    uid = Number(u);
    gid = g === undefined ? 0 : Number(g);
  }
  return {
    terminal: f.tty === true,
    user: { uid, gid },
    args,
    env: [...(base.env ?? []), ...((f.env as string[] | undefined) ?? [])],
    cwd: (f.cwd as string | undefined) ?? base.cwd ?? "/",
  };
}

export async function exec(ctx: Context, id: string, command: string[], f: FlagValues): Promise<number> {
  const r = loadContainer(ctx.root, id);
  if (r.status !== "running")
    throw new RuntimeError("RUNTIME_WRONG_STATE", `cannot exec in a ${r.status} container`);
  let processJson: string;
  if (f.process) {
    try {
      processJson = readFileSync(f.process as string, "utf8");
      JSON.parse(processJson);
    } catch (err) {
      throw new RuntimeError(
        "RUNTIME_BAD_INPUT",
        `process file ${f.process as string}: ${(err as Error).message}`,
      );
    }
  } else {
    if (command.length === 0) throw new RuntimeError("RUNTIME_USAGE", "exec: no command given");
    processJson = JSON.stringify(processFromFlags(readBundle(r.bundle), command, f));
  }
  const terminal = (JSON.parse(processJson) as { terminal?: boolean }).terminal === true;
  if (terminal && !f["console-socket"] && f.detach)
    throw new RuntimeError(
      "RUNTIME_BAD_INPUT",
      "cannot allocate tty if runc will detach without setting console socket",
    );
  const standin = await launchStandin({
    kind: "exec",
    root: ctx.root,
    id,
    execId: `exec-${randomBytes(6).toString("hex")}`,
    processJson,
    consoleSocket: f["console-socket"] as string | undefined,
    terminal,
    debug: ctx.debug,
  });
  writePidFile(f["pid-file"] as string | undefined, standin.pid);
  if (f.detach) return 0;
  return standin.exited;
}

export async function ps(ctx: Context, id: string, f: FlagValues): Promise<number> {
  const r = loadContainer(ctx.root, id);
  // the host processes of the container are its stand-in(s); guest pids mean nothing on the host
  const pids = r.status === "stopped" ? [] : [r.pid];
  if (f.format === "json") ctx.out(`${JSON.stringify(pids)}\n`);
  else {
    const guest =
      r.status === "stopped"
        ? []
        : ((await callControl(controlSocket(ctx.root, id), { op: "pids" })) as number[]);
    ctx.out(`PID (host stand-in)  GUEST PIDS\n${r.pid}  ${guest.join(" ")}\n`);
  }
  return 0;
}

export async function pauseResume(ctx: Context, id: string, op: "pause" | "resume"): Promise<number> {
  const r = loadContainer(ctx.root, id);
  if (op === "pause" && r.status !== "running")
    throw new RuntimeError("RUNTIME_WRONG_STATE", "container not running");
  if (op === "resume" && r.status !== "paused")
    throw new RuntimeError("RUNTIME_WRONG_STATE", "container not paused");
  await callControl(controlSocket(ctx.root, id), { op });
  return 0;
}

export async function update(ctx: Context, id: string, f: FlagValues): Promise<number> {
  const r = loadContainer(ctx.root, id);
  if (r.status === "stopped") throw new RuntimeError("RUNTIME_WRONG_STATE", "container not running");
  let resources: Record<string, unknown> = {};
  if (f.resources) {
    const src = f.resources === "-" ? 0 : (f.resources as string);
    try {
      resources = JSON.parse(readFileSync(src, "utf8")) as Record<string, unknown>;
    } catch (err) {
      throw new RuntimeError("RUNTIME_BAD_INPUT", `decoding resources: ${(err as Error).message}`);
    }
  }
  // Docker sends cgroup v1's kernel memory limits as 0 (unset); the guest's cgroup v2 has none,
  // and crun refuses the fields even at 0 (runc ignores them there)
  const memory = resources.memory as Record<string, unknown> | undefined;
  if (memory) for (const k of ["kernel", "kernelTCP"]) if (!memory[k]) delete memory[k];
  const num = (k: string) => (f[k] === undefined ? undefined : Number(f[k]));
  if (f.memory !== undefined) resources.memory = { ...(resources.memory as object), limit: num("memory") };
  if (f["cpu-quota"] !== undefined || f["cpu-period"] !== undefined || f["cpu-shares"] !== undefined)
    resources.cpu = {
      ...(resources.cpu as object),
      quota: num("cpu-quota"),
      period: num("cpu-period"),
      shares: num("cpu-shares"),
    };
  if (f["pids-limit"] !== undefined) resources.pids = { limit: num("pids-limit") };
  await callControl(controlSocket(ctx.root, id), { op: "update", resourcesJson: JSON.stringify(resources) });
  return 0;
}

export async function events(ctx: Context, id: string, f: FlagValues): Promise<number> {
  const interval = Number.parseInt(String(f.interval ?? "5"), 10) * 1000 || 5000;
  for (;;) {
    const r = loadContainer(ctx.root, id);
    if (r.status === "stopped") return 0;
    const agent = await callControl(controlSocket(ctx.root, id), { op: "stats" });
    ctx.out(
      `${JSON.stringify({ type: "stats", id, data: runcStats(agent as Parameters<typeof runcStats>[0]) })}\n`,
    );
    if (f.stats) return 0;
    await sleep(interval);
  }
}

export function list(ctx: Context, f: FlagValues): number {
  const records = listIds(ctx.root)
    .map((id) => readRecord(ctx.root, id) && loadContainer(ctx.root, id))
    .filter((r): r is ContainerRecord => r !== undefined);
  if (f.quiet) ctx.out(records.map((r) => `${r.id}\n`).join(""));
  else if (f.format === "json") ctx.out(`${JSON.stringify(records.map(stateJson))}\n`);
  else {
    const rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]];
    for (const r of records)
      rows.push([r.id, String(r.status === "stopped" ? 0 : r.pid), r.status, r.bundle, r.created, "root"]);
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
    ctx.out(
      rows
        .map(
          (row) =>
            `${row
              .map((c, i) => c.padEnd(widths[i]! + 3))
              .join("")
              .trimEnd()}\n`,
        )
        .join(""),
    );
  }
  return 0;
}

export function spec(ctx: Context, f: FlagValues): number {
  const file = join(resolve((f.bundle as string | undefined) ?? process.cwd()), "config.json");
  if (existsSync(file)) throw new RuntimeError("RUNTIME_EXISTS", "File config.json exists. Remove it first.");
  writeFileSync(file, `${JSON.stringify(defaultSpec(), null, "\t")}\n`);
  void ctx;
  return 0;
}

export function featuresCommand(ctx: Context): number {
  ctx.out(`${JSON.stringify(features(), null, "    ")}\n`);
  return 0;
}

export function version(ctx: Context): number {
  ctx.out(`tskata-runtime version ${VERSION}\nspec: ${SPEC_VERSION}\n`);
  return 0;
}
