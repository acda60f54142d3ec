/**
 * `start`: find or launch the shim that serves this task's pod, record its address in the bundle
 * and print it. A running shim for the group (its socket answers) is reused: one shim and one VM
 * per pod. Otherwise the daemon is spawned detached (own session, no inherited stdio, so
 * containerd's read of our output ends) and awaited until its socket answers.
 *
 * containerd writes the task's runtime options (a google.protobuf.Any) on our stdin; like runc's
 * shim, a new daemon is placed in the options' ShimCgroup and given an OOM score one above
 * containerd's. The wait for the daemon is bounded by progress, not a fixed time: on a busy host
 * a daemon that keeps running is waited for (up to the configured agent dial timeout, doubled);
 * one that stops making progress for STALL_MS is reported with what it was doing.
 */
import { spawn } from "node:child_process";
import { fstatSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import { loadConfig } from "../config/load.js";
import { socketAnswers } from "../io/socket-answers.js";
import { parseRuntimeOptions, type RuntimeOptions } from "../task/runtime-options.js";
import { bundleGroupId } from "./bundle-group.js";
import type { ShimFlags } from "./flags.js";
import { adjustOomScore } from "./oom-score.js";
import { placeInCgroup } from "./shim-cgroup.js";
import { SOCKET_ROOT, shimSocketPath, socketAddress } from "./socket-address.js";

/** Used when the configuration cannot be read (the daemon will report why itself). */
const DEFAULT_READY_TIMEOUT_MS = 60_000;
/** A daemon that used no CPU for this long while not serving is stalled. */
export const STALL_MS = 15_000;

/** The runtime options containerd wrote on stdin (nothing when stdin is not a pipe or file). */
export function runtimeOptionsFromStdin(fd = 0): RuntimeOptions {
  let bytes: Buffer;
  try {
    const st = fstatSync(fd);
    if (!st.isFIFO() && !st.isFile()) return parseRuntimeOptions(undefined);
    bytes = readFileSync(fd);
  } catch {
    return parseRuntimeOptions(undefined);
  }
  if (bytes.length === 0) return parseRuntimeOptions(undefined);
  return parseRuntimeOptions(fromBinary(AnySchema, bytes));
}

/** How long `start` waits for a daemon that keeps making progress. */
export function readyTimeoutMs(): number {
  try {
    return loadConfig().agent.dialTimeoutMs * 2;
  } catch {
    return DEFAULT_READY_TIMEOUT_MS;
  }
}

/** State and CPU time (ms) of a process, from /proc/<pid>/stat; undefined once it is gone. */
export function processProgress(pid: number): { state: string; cpuMs: number; wchan: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    let wchan = "";
    try {
      wchan = readFileSync(`/proc/${pid}/wchan`, "utf8");
    } catch {}
    return { state: fields[0] ?? "?", cpuMs: ticks * 10, wchan };
  } catch {
    return undefined;
  }
}

export async function startShim(
  flags: ShimFlags,
  entry: string,
  socketRoot = SOCKET_ROOT,
  options: RuntimeOptions = parseRuntimeOptions(undefined),
): Promise<string> {
  const bundle = process.cwd();
  const group = bundleGroupId(bundle, flags.id);
  const socket = shimSocketPath(flags.address, flags.namespace, group, socketRoot);
  const address = socketAddress(socket);
  if (!(await socketAnswers(socket))) {
    mkdirSync(socketRoot, { recursive: true, mode: 0o711 });
    const args = [
      entry,
      "-namespace",
      flags.namespace,
      "-id",
      flags.id,
      "-address",
      flags.address,
      "-publish-binary",
      flags.publishBinary,
      "-socket",
      socket,
      ...(flags.debug ? ["-debug"] : []),
    ];
    const child = spawn(process.execPath, args, {
      argv0: "containerd-shim-tskata-v2",
      cwd: bundle,
      detached: true,
      stdio: "ignore",
      // Each stdin FIFO waits for its client's writer on a libuv thread: room for many processes.
      // TSKATA_SHIM_START_MS: when containerd ran this command, for the start-up timeline
      env: { UV_THREADPOOL_SIZE: "64", ...process.env, TSKATA_SHIM_START_MS: String(performance.timeOrigin) },
    });
    child.unref();
    const pid = child.pid ?? 0;
    try {
      if (options.shimCgroup) placeInCgroup(options.shimCgroup, [pid]);
      adjustOomScore(pid);
    } catch (err) {
      child.kill("SIGKILL");
      throw err;
    }
    const started = Date.now();
    const timeoutMs = readyTimeoutMs();
    let last = { cpuMs: -1, at: started };
    while (!(await socketAnswers(socket))) {
      if (child.exitCode !== null)
        throw new Error(`shim daemon exited with ${child.exitCode} before serving ${socket}`);
      const now = Date.now();
      const p = processProgress(pid);
      if (p && p.cpuMs !== last.cpuMs) last = { cpuMs: p.cpuMs, at: now };
      const stalled = now - last.at > STALL_MS;
      if (stalled || now - started > timeoutMs) {
        const what = p
          ? `state ${p.state}, ${p.cpuMs} ms of CPU${p.wchan ? `, waiting in ${p.wchan}` : ""}`
          : "gone";
        child.kill("SIGKILL");
        throw new Error(
          `shim daemon pid ${pid} did not serve ${socket} after ${now - started} ms (${stalled ? `no progress for ${now - last.at} ms` : `limit ${timeoutMs} ms`}; daemon: ${what}); waiting for its socket to answer`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  writeFileSync(join(bundle, "address"), address);
  return address;
}
