/**
 * The stand-ins: the host processes a runc caller holds for a container's init and for each
 * exec. The container's stand-in owns the container's VM (through the task layer, as the shim
 * does), its stdio is the container's, it forwards the signals it receives to the guest process,
 * serves the control socket the other commands use, and exits with the guest process's status
 * after stopping the VM. An exec's stand-in hands its own stdio to the container's stand-in and
 * exits with the exec's status. Each reports "ready" (or the error) on fd 3 to the command that
 * started it, which then returns.
 */
import { closeSync, createWriteStream, writeSync } from "node:fs";
import pino, { type Logger } from "pino";
import { loadConfig } from "../../shim/config/load.js";
import type { EventPublisher } from "../../shim/events/publisher.js";
import { PoolProvider } from "../../shim/sandbox/pool-provider.js";
import { TaskManager } from "../../shim/task/task-manager.js";
import { type ControlRequest, callControl, serveControl } from "./control.js";
import { joinHostCgroups } from "./host-cgroup.js";
import { hostStdio } from "./host-stdio.js";
import { startSandboxWatcher } from "./sandbox-reaper.js";
import {
  type ContainerRecord,
  containerDir,
  controlSocket,
  processStartTime,
  readRecord,
  writeRecord,
} from "./state-store.js";
import { followWindowSize } from "./window-size.js";

export interface ContainerStandinParams {
  kind: "container";
  root: string;
  id: string;
  bundle: string;
  consoleSocket: string | undefined;
  terminal: boolean;
  annotations: Record<string, string>;
  ociVersion: string;
  debug: boolean;
  /** The host cgroup(s) to join before the VM boots (host-cgroup.ts). */
  hostCgroups: string[];
}

export interface ExecStandinParams {
  kind: "exec";
  root: string;
  id: string;
  execId: string;
  processJson: string;
  consoleSocket: string | undefined;
  terminal: boolean;
  debug: boolean;
}

/** Signals a stand-in passes on to its guest process (SIGKILL and SIGSTOP cannot be caught). */
const FORWARDED: NodeJS.Signals[] = [
  "SIGTERM",
  "SIGINT",
  "SIGHUP",
  "SIGQUIT",
  "SIGUSR1",
  "SIGUSR2",
  "SIGWINCH",
  "SIGCONT",
];
const SIGNAL_NUMBERS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGUSR1: 10,
  SIGUSR2: 12,
  SIGTERM: 15,
  SIGCONT: 18,
  SIGWINCH: 28,
};

function report(message: { ok: true } | { ok: false; error: string }): void {
  try {
    writeSync(3, `${JSON.stringify(message)}\n`);
    closeSync(3);
  } catch {
    // the command that started us is gone: nobody to tell
  }
}

function standinLog(root: string, id: string, name: string, debug: boolean): Logger {
  const file = createWriteStream(`${containerDir(root, id)}/${name}.log`, { flags: "a" });
  file.on("error", () => {});
  return pino({ level: debug ? "debug" : "info", base: { standin: name, pid: process.pid } }, file);
}

const noEvents = {
  publish: () => {},
  flush: async () => {},
  close: async () => {},
} as unknown as EventPublisher;

function exitWith(status: number): never {
  process.exit(Math.min(status, 255));
}

export async function runContainerStandin(p: ContainerStandinParams): Promise<void> {
  process.on("SIGPIPE", () => {});
  const log = standinLog(p.root, p.id, "standin", p.debug);

  const record: ContainerRecord = {
    ociVersion: p.ociVersion,
    id: p.id,
    status: "creating",
    pid: process.pid,
    pidStart: processStartTime(process.pid),
    bundle: p.bundle,
    annotations: p.annotations,
    created: new Date().toISOString(),
  };
  const tasks = new TaskManager({
    namespace: "tskata-runtime",
    sandboxId: p.id,
    events: noEvents,
    log,
    loadConfig,
    sandboxes: new PoolProvider(),
  });
  let stdio: ReturnType<typeof hostStdio> | undefined;
  const execStdio = new Map<string, () => void>();
  // recorded (as creating) and watched before the VM exists: if this process is killed, the VM
  // goes with it
  writeRecord(p.root, record);
  startSandboxWatcher({ root: p.root, id: p.id, standinPid: process.pid });
  if (p.hostCgroups.length > 0) {
    record.hostCgroups = p.hostCgroups;
    writeRecord(p.root, record);
    try {
      joinHostCgroups(p.hostCgroups, process.pid);
    } catch (err) {
      log.warn({ err, cgroups: p.hostCgroups }, "joining the container's host cgroup failed");
    }
  }
  try {
    stdio = hostStdio({
      terminal: p.terminal,
      consoleSocket: p.consoleSocket,
      workDir: containerDir(p.root, p.id),
    });
    await tasks.create({ id: p.id, bundle: p.bundle, rootfs: [], io: stdio.io, configPath: undefined });
  } catch (err) {
    log.error({ err }, "create failed");
    stdio?.dispose();
    await tasks.destroy().catch(() => {});
    // torn down here: nothing for the watcher to reap (`create` removes the directory)
    writeRecord(p.root, { ...record, status: "stopped", exitStatus: 1 });
    report({ ok: false, error: (err as Error).message });
    exitWith(1);
  }
  record.status = "created";
  writeRecord(p.root, record);
  let finishing = false;
  let stopFollowing = () => {};
  const forward = (signal: NodeJS.Signals) => {
    if (finishing) return;
    tasks.kill(p.id, "", SIGNAL_NUMBERS[signal] ?? 15, false).catch((err: unknown) => {
      log.warn({ err, signal }, "forwarding a signal failed");
    });
  };
  for (const s of FORWARDED) process.on(s, forward);

  const finish = async (status: number) => {
    if (finishing) return;
    finishing = true;
    stopFollowing();
    await tasks.delete(p.id, "").catch((err: unknown) => log.warn({ err }, "deleting the container failed"));
    await tasks.destroy().catch(() => {});
    stdio?.dispose();
    writeRecord(p.root, { ...record, status: "stopped", exitStatus: status });
    server.close();
    log.info({ status }, "container exited");
    log.flush();
    exitWith(status);
  };

  const handle = async (r: ControlRequest): Promise<unknown> => {
    switch (r.op) {
      case "start": {
        await tasks.start(p.id, "");
        record.status = "running";
        writeRecord(p.root, record);
        const windowSize = stdio?.windowSize;
        if (windowSize)
          stopFollowing = followWindowSize(
            windowSize,
            (size) => tasks.resize(p.id, "", size.columns, size.rows),
            (err) => log.warn({ err }, "passing the window size on failed"),
          );
        return undefined;
      }
      case "kill":
        return tasks.kill(p.id, r.execId ?? "", r.signal, r.all);
      case "pause":
        await tasks.pause(p.id);
        record.status = "paused";
        writeRecord(p.root, record);
        return undefined;
      case "resume":
        await tasks.resume(p.id);
        record.status = "running";
        writeRecord(p.root, record);
        return undefined;
      case "update":
        return tasks.update(p.id, new TextEncoder().encode(r.resourcesJson));
      case "stats":
        return JSON.parse(
          JSON.stringify(await tasks.stats(p.id), (_k, v: unknown) =>
            typeof v === "bigint" ? Number(v) : v,
          ),
        );
      case "pids":
        return tasks.pids(p.id);
      case "destroy":
        setImmediate(() => void finish(137));
        return undefined;
      case "exec": {
        await tasks.exec(
          p.id,
          r.execId,
          { stdin: r.stdin, stdout: r.stdout, stderr: r.stderr, terminal: r.terminal },
          new TextEncoder().encode(r.processJson),
        );
        try {
          return await tasks.start(p.id, r.execId);
        } catch (err) {
          await tasks.delete(p.id, r.execId).catch(() => {});
          throw err;
        }
      }
      case "wait-exec": {
        const exit = await tasks.wait(p.id, r.execId);
        await tasks.delete(p.id, r.execId).catch(() => {});
        execStdio.get(r.execId)?.();
        return exit.status;
      }
      case "resize":
        return tasks.resize(p.id, r.execId, r.columns, r.rows);
    }
  };
  const server = serveControl(controlSocket(p.root, p.id), (r) =>
    handle(r).catch((err: unknown) => {
      log.warn({ err, op: r.op }, "control request failed");
      throw err;
    }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  }).catch(async (err: unknown) => {
    await tasks.destroy().catch(() => {});
    writeRecord(p.root, { ...record, status: "stopped", exitStatus: 1 });
    report({ ok: false, error: `control socket: ${(err as Error).message}` });
    exitWith(1);
  });
  void tasks.wait(p.id, "").then((exit) => finish(exit.status));
  // the VM died under us: the wait above reports it (128+9)
  report({ ok: true });
}

export async function runExecStandin(p: ExecStandinParams): Promise<void> {
  process.on("SIGPIPE", () => {});
  const log = standinLog(p.root, p.id, `exec-${p.execId}`, p.debug);
  const socket = controlSocket(p.root, p.id);
  let stdio: ReturnType<typeof hostStdio> | undefined;
  try {
    if (!readRecord(p.root, p.id)) throw new Error("container does not exist");
    stdio = hostStdio({
      terminal: p.terminal,
      consoleSocket: p.consoleSocket,
      workDir: containerDir(p.root, p.id),
    });
    await callControl(socket, { op: "exec", execId: p.execId, processJson: p.processJson, ...stdio.io });
  } catch (err) {
    log.error({ err }, "exec failed");
    stdio?.dispose();
    report({ ok: false, error: (err as Error).message });
    exitWith(1);
  }
  const forward = (signal: NodeJS.Signals) => {
    void callControl(socket, {
      op: "kill",
      execId: p.execId,
      signal: SIGNAL_NUMBERS[signal] ?? 15,
      all: false,
    }).catch((err: unknown) => log.warn({ err, signal }, "forwarding a signal failed"));
  };
  for (const s of FORWARDED) process.on(s, forward);
  const windowSize = stdio?.windowSize;
  const stopFollowing = windowSize
    ? followWindowSize(
        windowSize,
        (size) => callControl(socket, { op: "resize", execId: p.execId, ...size }),
        (err) => log.warn({ err }, "passing the window size on failed"),
      )
    : () => {};
  report({ ok: true });
  let status: number;
  try {
    status = Number(await callControl(socket, { op: "wait-exec", execId: p.execId }));
  } catch (err) {
    log.warn({ err }, "waiting for the exec failed; reporting it killed");
    status = 137;
  }
  stopFollowing();
  stdio?.dispose();
  log.flush();
  exitWith(status);
}
