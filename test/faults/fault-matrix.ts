/**
 * The fault matrix (issue 9): a fault (kill -9 of QEMU, virtiofsd, the shim, the guest agent or
 * containerd, or SIGTERM of the shim) injected at a lifecycle stage of a pod (booting, created,
 * running, exec in flight, stdio streaming, deleting), then what a client does next (Wait,
 * delete), and what is left on the host. One private containerd per test file; every pod is
 * started with a configuration file whose runtime.state_dir is not the default, through
 * runtimeoptions.v1.Options (ConfigPath), so `delete`'s cleanup must find it (item 1).
 */
import { execFileSync } from "node:child_process";
import {
  closeSync,
  constants,
  createReadStream,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { writeBusyboxRootfs } from "../../cli/demo/busybox-image.js";
import { RUNTIME, startTskataContainerd, type TskataContainerd } from "../../cli/demo/tskata-containerd.js";
import { OptionsSchema } from "../../protocol/generated/runtimeoptions/v1/options_pb.js";
import { packageRoot } from "../../shim/config/paths.js";
import { shimSocketPath } from "../../shim/launch/socket-address.js";
import { connectTasks, type TasksClient } from "../support/containerd/tasks-client.js";
import { processLines } from "../support/leftovers.js";
import {
  hostLinks,
  sandboxPid,
  sandboxProcessLines,
  shimPid,
  type TraceScope,
  untilClean,
} from "./host-traces.js";
import { TaskEvents } from "./task-events.js";

export const FAULTS = [
  "kill-qemu",
  "kill-virtiofsd",
  "kill-shim",
  "term-shim",
  "kill-agent",
  "kill-containerd",
  "cancel-client",
] as const;
export const STAGES = ["booting", "created", "running", "exec", "streaming", "deleting"] as const;
export type Fault = (typeof FAULTS)[number];
export type Stage = (typeof STAGES)[number];

/** The guest agent is reached through an exec, so only once a container runs; a client cancels only its Create. */
export function applicable(fault: Fault, stage: Stage): boolean {
  // the client giving up on Create (a killed `ctr run`: containerd's context is cancelled)
  if (fault === "cancel-client") return stage === "booting";
  if (fault === "kill-agent") return stage === "running" || stage === "exec" || stage === "streaming";
  return true;
}

/** Cleanup deadline the issue sets, from the fault to nothing left. */
export const CLEAN_WITHIN_MS = 5_000;
const ENV = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"];

// biome-ignore lint/suspicious/noExplicitAny: an OCI spec, edited freely
type Spec = Record<string, any>;

export interface FaultBench {
  ctrd: TskataContainerd;
  client: TasksClient;
  events: TaskEvents;
  scratch: string;
  stateDir: string;
  options: { typeUrl: string; value: Uint8Array };
  baseSpec: Spec;
}

export async function openBench(): Promise<FaultBench> {
  const ctrd = await startTskataContainerd();
  // Short: socket paths below it must fit in 107 bytes.
  const scratch = mkdtempSync(join(tmpdir(), "tskf-"));
  const stateDir = join(scratch, "state");
  const configPath = join(scratch, "tskata.toml");
  writeFileSync(configPath, `[runtime]\nstate_dir = "${stateDir}"\nlog_level = "debug"\n`);
  const options = {
    typeUrl: "runtimeoptions.v1.Options",
    value: toBinary(OptionsSchema, create(OptionsSchema, { configPath })),
  };
  const client = connectTasks(ctrd.grpcAddress);
  const events = new TaskEvents(ctrd);
  await events.start();
  const baseSpec = JSON.parse(await ctrd.ctr(["oci", "spec"])) as Spec;
  return { ctrd, client, events, scratch, stateDir, options, baseSpec };
}

/** `logName`: containerd's log (with every shim's) is kept as build/<logName>.log for diagnosis. */
export async function closeBench(b: FaultBench | undefined, logName?: string): Promise<void> {
  if (!b) return;
  b.events.stop();
  b.client.close();
  if (logName) {
    const out = join(packageRoot() ?? ".", "build");
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, `${logName}.log`), b.ctrd.log());
  }
  await b.ctrd.close();
  // The shared bind mount the shim makes of <state_dir>/sandboxes (docs/shim.md) goes with the test's dir.
  const sandboxes = join(b.stateDir, "sandboxes");
  try {
    execFileSync("umount", ["-l", sandboxes], { stdio: "ignore" });
  } catch {
    // not mounted
  }
  rmSync(b.scratch, { recursive: true, force: true });
}

export interface CellResult {
  fault: Fault;
  stage: Stage;
  /** /tasks/exit events published for the task's init. */
  exitEvents: number;
  exitStatus: number | undefined;
  /** exited_at minus the moment the task really died (the fault, or the kill that ended it). */
  exitLagMs: number | undefined;
  /** Wait (in flight before the fault) settled, and how long after the fault. */
  waitAnswered: boolean;
  waitMs: number;
  waitOutcome: string;
  containerdUsable: boolean;
  /** What was left after delete, and when the host was clean (ms after the fault). */
  left: string[];
  cleanMs: number;
  notes: string[];
}

export interface CellContext {
  id: string;
  qemuPid: number | undefined;
}

const settle = <T>(p: Promise<T>) =>
  p.then(
    (v) => ({ ok: true as const, v, at: Date.now() }),
    (e: unknown) => ({ ok: false as const, e: e as Error, at: Date.now() }),
  );

async function until(what: string, cond: () => boolean, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function processSpec(b: FaultBench, args: string[]) {
  const proc = structuredClone(b.baseSpec["process"]);
  proc.args = args;
  proc.env = ENV;
  proc.terminal = false;
  return {
    typeUrl: "types.containerd.io/opencontainers/runtime-spec/1/Process",
    value: new TextEncoder().encode(JSON.stringify(proc)),
  };
}

/**
 * The running containerd's pid, from /proc (the fixture's `pid` is copied when the fixture object
 * is spread, so it names the first containerd even after a restart).
 */
export function containerdPid(b: FaultBench): number | undefined {
  const mark = `--config ${join(b.ctrd.dir, "config.toml")}`;
  const line = processLines().find((l) => l.split(" ")[1] === "containerd" && l.includes(mark));
  return line ? Number(line.split(" ")[0]) : undefined;
}

/** A FIFO drained as a client's stdout reader would; resolves its byte count when it closes. */
function drainedFifo(path: string): { bytes: () => number; closed: Promise<void>; release: () => void } {
  execFileSync("mkfifo", [path]);
  let n = 0;
  const stream = createReadStream(path);
  stream.on("data", (d) => {
    n += d.length;
  });
  const closed = new Promise<void>((r) => {
    stream.once("close", () => r());
    stream.once("error", () => r());
  });
  // A reader whose writer never came (the shim died first) blocks a libuv thread in open(2):
  // a non-blocking writer opened and closed at once lets it open and end.
  const release = () => {
    try {
      closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // ENXIO: no reader waiting any more
    }
  };
  return { bytes: () => n, closed, release };
}

/** The agent is the guest's node process (tini is PID 1): a container sharing the guest's pid namespace sees it. */
const KILL_AGENT = ["sh", "-c", "kill -9 $(pidof node)"];

export async function runCell(
  b: FaultBench,
  fault: Fault,
  stage: Stage,
  atStage?: (ctx: CellContext) => Promise<void> | void,
): Promise<CellResult> {
  try {
    return await cellSteps(b, fault, stage, atStage);
  } catch (err) {
    await salvage(b, `f-${fault}-${stage}`);
    throw err;
  }
}

/** After a cell failed half-way: end its pod through containerd, then whatever still runs. */
async function salvage(b: FaultBench, id: string): Promise<void> {
  const tasks = b.client.tasks;
  await tasks.kill({ containerId: id, signal: 9, all: true }).catch(() => undefined);
  await tasks.delete({ containerId: id }).catch(() => undefined);
  await b.ctrd.ctr(["containers", "rm", id]).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 2_000));
  for (const line of sandboxProcessLines(b.stateDir, id)) {
    try {
      process.kill(Number(line.split(" ")[0]), "SIGKILL");
    } catch {
      // gone
    }
  }
}

async function cellSteps(
  b: FaultBench,
  fault: Fault,
  stage: Stage,
  atStage?: (ctx: CellContext) => Promise<void> | void,
): Promise<CellResult> {
  const id = `f-${fault}-${stage}`;
  const tasks = b.client.tasks;
  const notes: string[] = [];
  const dir = join(b.scratch, id);
  mkdirSync(dir, { recursive: true });
  const linksBefore = hostLinks();
  const scope: TraceScope = {
    stateDir: b.stateDir,
    sandboxId: id,
    shimSocket: shimSocketPath(b.ctrd.grpcAddress, "default", id),
    fifoDirs: [dir],
    linksBefore,
  };

  // The container: its own busybox rootfs; the agent-kill cells share the guest's pid namespace.
  const rootfs = join(dir, "rootfs");
  writeBusyboxRootfs(rootfs);
  const spec: Spec = structuredClone(b.baseSpec);
  spec["process"].args =
    stage === "streaming"
      ? ["sh", "-c", "while :; do echo 0123456789abcdefghijklmnopqrstuvwxyz0123456789; done"]
      : ["sleep", "100000"];
  spec["process"].env = ENV;
  spec["process"].terminal = false;
  spec["root"] = { path: rootfs, readonly: false };
  if (fault === "kill-agent")
    spec["linux"].namespaces = spec["linux"].namespaces.filter((n: { type: string }) => n.type !== "pid");
  writeFileSync(join(dir, "spec.json"), JSON.stringify(spec));
  await b.ctrd.ctr(["containers", "create", "--runtime", RUNTIME, "--config", join(dir, "spec.json"), id]);

  const stdout = drainedFifo(join(dir, "stdout"));
  const createTask = () => tasks.create({ containerId: id, stdout: join(dir, "stdout"), options: b.options });

  let created: ReturnType<typeof settle<unknown>> | undefined;
  let waiting: ReturnType<typeof settle<{ exitStatus: number }>> | undefined;
  let deleting: ReturnType<typeof settle<unknown>> | undefined;
  let deathAt = 0;

  // Reach the stage.
  if (fault === "cancel-client") {
    // The client's deadline cancels Create in containerd while the VM boots (QEMU starts ~0.3 s in).
    created = settle(
      tasks.create(
        { containerId: id, stdout: join(dir, "stdout"), options: b.options },
        { timeoutMs: 2_000 },
      ),
    );
    let qemuSeen = false;
    const watch = setInterval(() => {
      qemuSeen ||= sandboxPid(b.stateDir, id, "qemu-system") !== undefined;
    }, 50);
    await created;
    clearInterval(watch);
    notes.push(qemuSeen ? "QEMU was running when Create was cancelled" : "QEMU had not started yet");
  } else if (stage === "booting") {
    created = settle(createTask());
    const marker = fault === "kill-virtiofsd" ? "virtiofsd" : "qemu-system";
    await until(`${marker} of ${id} started`, () => sandboxPid(b.stateDir, id, marker) !== undefined, 60_000);
    await until(`shim of ${id} serving`, () => shimPid(scope.shimSocket) !== undefined, 10_000);
    await new Promise((r) => setTimeout(r, 1_000)); // in the guest's boot, past QEMU's start
  } else {
    await createTask();
    waiting = settle(tasks.wait({ containerId: id }, { timeoutMs: 120_000 }));
    if (stage !== "created") await tasks.start({ containerId: id });
    if (stage === "exec") {
      await tasks.exec({ containerId: id, execId: "sleeper", spec: processSpec(b, ["sleep", "100000"]) });
      await tasks.start({ containerId: id, execId: "sleeper" });
    }
    if (stage === "streaming") await until("stdout streaming", () => stdout.bytes() > 100_000, 30_000);
  }
  await atStage?.({ id, qemuPid: sandboxPid(b.stateDir, id, "qemu-system") });
  if (stage === "deleting") {
    await tasks.kill({ containerId: id, signal: 9, all: true });
    deathAt = Date.now();
    await waiting;
    deleting = settle(tasks.delete({ containerId: id }));
    await new Promise((r) => setTimeout(r, 50));
  }

  // The fault.
  const t0 = Date.now();
  if (stage !== "deleting") deathAt = t0;
  const kill = (pid: number | undefined, what: string, signal: NodeJS.Signals = "SIGKILL") => {
    if (pid === undefined) throw new Error(`${what} of ${id} not found at stage ${stage}`);
    process.kill(pid, signal);
  };
  switch (fault) {
    case "kill-qemu":
      kill(sandboxPid(b.stateDir, id, "qemu-system"), "QEMU");
      break;
    case "kill-virtiofsd":
      kill(sandboxPid(b.stateDir, id, "virtiofsd"), "virtiofsd");
      break;
    case "kill-shim":
      kill(shimPid(scope.shimSocket), "shim");
      break;
    case "term-shim":
      kill(shimPid(scope.shimSocket), "shim", "SIGTERM");
      break;
    case "kill-agent":
      await tasks.exec({ containerId: id, execId: "killer", spec: processSpec(b, KILL_AGENT) });
      void settle(tasks.start({ containerId: id, execId: "killer" }));
      break;
    case "cancel-client":
      break; // the deadline above was the fault
    case "kill-containerd":
      kill(containerdPid(b), "containerd");
      await b.ctrd.restart();
      await b.events.start();
      break;
  }

  // What a client does next.
  let refAt = deathAt;
  if (fault === "kill-containerd" && stage !== "deleting") {
    // The pod outlives containerd: the restarted one serves it; the client ends the task itself.
    if (created) {
      const c = await created;
      notes.push(c.ok ? "create completed across the restart" : `create: ${c.e.message.split("\n")[0]}`);
      created = undefined;
    }
    refAt = Date.now();
    const k = await settle(tasks.kill({ containerId: id, signal: 9, all: true }));
    if (!k.ok) notes.push(`kill after restart: ${k.e.message.split("\n")[0]}`);
    const again = await settle(tasks.wait({ containerId: id }, { timeoutMs: 20_000 }));
    if (!again.ok) notes.push(`wait after restart: ${again.e.message.split("\n")[0]}`);
  }
  let waitAnswered = stage === "booting";
  let waitMs = 0;
  let waitOutcome = "n/a (no task yet)";
  if (waiting) {
    const w = await Promise.race([waiting, new Promise<undefined>((r) => setTimeout(r, 20_000, undefined))]);
    waitAnswered = w !== undefined;
    waitMs = w ? Math.max(0, w.at - t0) : -1;
    waitOutcome = !w
      ? "no answer in 20 s"
      : w.ok
        ? `exit ${w.v.exitStatus}`
        : `error: ${w.e.message.split("\n")[0]}`;
  }
  if (created) {
    const c = await created;
    notes.push(c.ok ? "create completed" : `create failed: ${c.e.message.split("\n")[0]?.slice(0, 120)}`);
  }
  if (deleting) {
    const d = await deleting;
    if (!d.ok) notes.push(`delete in flight: ${d.e.message.split("\n")[0]?.slice(0, 120)}`);
  }
  const del = await settle(tasks.delete({ containerId: id }));
  if (!del.ok && !/not found/i.test(del.e.message)) notes.push(`delete: ${del.e.message.split("\n")[0]}`);
  const rm = await settle(b.ctrd.ctr(["containers", "rm", id]));
  if (!rm.ok) notes.push(`containers rm: ${rm.e.message.split("\n")[0]}`);
  const clean = await untilClean(scope, t0 + 15_000);
  stdout.release();
  await Promise.race([stdout.closed, new Promise((r) => setTimeout(r, 1_000))]);
  const usable = await settle(b.ctrd.ctr(["tasks", "ls"], { timeoutMs: 10_000 }));
  await new Promise((r) => setTimeout(r, 300)); // the last events reach `ctr events`
  const exits = b.events.exitsOf(id);
  rmSync(dir, { recursive: true, force: true });
  return {
    fault,
    stage,
    exitEvents: exits.length,
    exitStatus: exits[0]?.exitStatus,
    exitLagMs: exits[0] ? exits[0].exitedAt - refAt : undefined,
    waitAnswered,
    waitMs,
    waitOutcome,
    containerdUsable: usable.ok,
    left: clean.left,
    cleanMs: clean.at - t0,
    notes,
  };
}

/**
 * What containerd itself does (runc's shim gets the same). When containerd's Delete is cut —
 * the shim dies inside it, or containerd dies and the restarted one deletes again (the shim
 * answers NOT_FOUND: it had deleted the task) — the task stays in containerd's list, and when the
 * shim's connection then closes containerd's own dead-shim cleanup (runtime/v2 manager: "shim
 * disconnected" → cleanupAfterDeadShim) publishes a second /tasks/exit.
 */
export function containerdRepublishes(fault: Fault, stage: Stage): boolean {
  return (fault === "kill-shim" || fault === "kill-containerd") && stage === "deleting";
}

/** Every way a cell's result breaks the contract (empty: the cell passes). */
export function violations(r: CellResult): string[] {
  const v: string[] = [];
  const maxExits = r.stage === "booting" ? 1 : containerdRepublishes(r.fault, r.stage) ? 2 : 1;
  if (r.exitEvents > maxExits || (r.stage !== "booting" && r.exitEvents < 1))
    v.push(`${r.exitEvents} /tasks/exit events for the init`);
  // The exit time is the time of death: not the start time, not the delete time.
  if (r.exitLagMs !== undefined && (r.exitLagMs < -1_000 || r.exitLagMs > CLEAN_WITHIN_MS))
    v.push(`exited_at is ${r.exitLagMs} ms from the death`);
  if (!r.waitAnswered) v.push(`Wait did not answer (${r.waitOutcome})`);
  if (!r.containerdUsable) v.push("containerd no longer answers");
  if (r.left.length > 0) v.push(`left after delete: ${r.left.join("; ")}`);
  else if (r.cleanMs > CLEAN_WITHIN_MS) v.push(`clean only ${r.cleanMs} ms after the fault`);
  return v;
}

export function formatRow(r: CellResult): string {
  return [
    r.fault,
    r.stage,
    String(r.exitEvents),
    r.exitStatus === undefined ? "-" : String(r.exitStatus),
    r.exitLagMs === undefined ? "-" : String(r.exitLagMs),
    r.waitOutcome,
    r.left.length === 0 ? String(r.cleanMs) : `LEFT ${r.left.length}`,
    violations(r).length === 0 ? "pass" : `FAIL: ${violations(r).join("; ")}`,
    [
      ...(containerdRepublishes(r.fault, r.stage) && r.exitEvents === 2
        ? ["the second exit is containerd's own (its Delete was cut)"]
        : []),
      ...r.notes,
    ].join("; "),
  ].join(" | ");
}

/** Prints the cells as the table docs/reliability.md records and writes them to build/FILE. */
export function reportCells(results: readonly CellResult[], file: string): void {
  console.log(
    [
      "fault | stage | exits | status | exited_at lag ms | wait | clean ms | verdict | notes",
      ...results.map(formatRow),
    ].join("\n"),
  );
  const out = join(packageRoot() ?? ".", "build");
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, file), JSON.stringify(results, null, 2));
}
