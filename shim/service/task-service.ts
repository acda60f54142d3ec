/**
 * containerd.task.v2.Task (also served as containerd.task.v3.Task): the only code that speaks
 * containerd's API. Wire messages become TaskManager calls; domain errors become status codes.
 */
import type { Any } from "@bufbuild/protobuf/wkt";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { Task } from "../../protocol/generated/containerd/task/v2/shim_pb.js";
import { Status } from "../../protocol/generated/containerd/types/task_pb.js";
import { Code } from "../../protocol/ttrpc/codes.js";
import { TtrpcError } from "../../protocol/ttrpc/errors.js";
import type { ServiceImpl } from "../../protocol/ttrpc/service.js";
import { writeBundleRecord } from "../launch/bundle-record.js";
import type { ProcessState } from "../process/state.js";
import { checkExecLimits } from "../spec/exec-limits.js";
import { invalid } from "../task/errors.js";
import { parseRuntimeOptions } from "../task/runtime-options.js";
import { toMetricsAny } from "../task/stats.js";
import type { TaskManager } from "../task/task-manager.js";
import { toTtrpcStatus } from "./error-codes.js";

export const SPEC_PROCESS_TYPE = "types.containerd.io/opencontainers/runtime-spec/1/Process";
export const SPEC_RESOURCES_TYPE = "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources";

export interface TaskServiceHooks {
  version: string;
  /** Asked to exit: the shim leaves once the reply is sent (when it serves no container). */
  shutdown(now: boolean): void;
}

const STATUS: Record<ProcessState["kind"], Status> = {
  created: Status.CREATED,
  running: Status.RUNNING,
  paused: Status.PAUSED,
  stopped: Status.STOPPED,
  deleted: Status.STOPPED,
};

function jsonAny(any: Any | undefined, typeUrl: string, what: string): Uint8Array {
  if (!any) throw invalid(`${what} is required`);
  const url = any.typeUrl.replace(/^type\.googleapis\.com\//, "");
  if (url !== typeUrl) throw invalid(`${what} has type ${JSON.stringify(any.typeUrl)}, want ${typeUrl}`);
  return any.value;
}

/** The JSON in `bytes`, or undefined when it does not parse (the task layer names that error). */
function parsedJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}

/** Wraps every method so domain errors leave as ttrpc statuses. */
function edge<S extends object>(impl: S): S {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(impl)) {
    out[name] = async (...args: unknown[]) => {
      try {
        return await (fn as (...a: unknown[]) => unknown).apply(impl, args);
      } catch (err) {
        throw toTtrpcStatus(err);
      }
    };
  }
  return out as S;
}

export function createTaskService(tasks: TaskManager, hooks: TaskServiceHooks): ServiceImpl<typeof Task> {
  return edge<ServiceImpl<typeof Task>>({
    async create(req) {
      if (req.checkpoint !== "")
        throw new TtrpcError(Code.UNIMPLEMENTED, "restore from checkpoint is not supported");
      const options = parseRuntimeOptions(req.options);
      // Before the VM boots: if this shim dies, `delete` finds the sandbox through this record.
      if (req.bundle !== "") writeBundleRecord(req.bundle, { configPath: options.configPath });
      const pid = await tasks.create({
        id: req.id,
        bundle: req.bundle,
        rootfs: req.rootfs,
        io: { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal },
        configPath: options.configPath,
        ioOwner: options.ioOwner,
        ignoredOptions: options.ignored,
      });
      return { pid };
    },
    async start(req) {
      return { pid: await tasks.start(req.id, req.execId) };
    },
    async delete(req) {
      const { pid, exit } = await tasks.delete(req.id, req.execId);
      return { pid, exitStatus: exit.status, exitedAt: timestampFromMs(exit.at) };
    },
    async pids(req) {
      const pids = await tasks.pids(req.id);
      return { processes: pids.map((pid) => ({ pid })) };
    },
    async pause(req) {
      await tasks.pause(req.id);
      return {};
    },
    async resume(req) {
      await tasks.resume(req.id);
      return {};
    },
    checkpoint() {
      throw new TtrpcError(Code.UNIMPLEMENTED, "checkpoint is not supported by io.containerd.tskata.v2 yet");
    },
    async kill(req) {
      await tasks.kill(req.id, req.execId, req.signal, req.all);
      return {};
    },
    async exec(req) {
      const spec = jsonAny(req.spec, SPEC_PROCESS_TYPE, `exec ${req.execId} spec`);
      checkExecLimits(parsedJson(spec), `exec ${req.execId} of task ${req.id}`);
      await tasks.exec(
        req.id,
        req.execId,
        { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal },
        spec,
      );
      return {};
    },
    async resizePty(req) {
      await tasks.resize(req.id, req.execId, req.width, req.height);
      return {};
    },
    closeIO(req) {
      if (req.stdin) tasks.closeIO(req.id, req.execId);
      return {};
    },
    async update(req) {
      await tasks.update(req.id, jsonAny(req.resources, SPEC_RESOURCES_TYPE, "update resources"));
      return {};
    },
    async wait(req) {
      const exit = await tasks.wait(req.id, req.execId);
      return { exitStatus: exit.status, exitedAt: timestampFromMs(exit.at) };
    },
    async stats(req) {
      return { stats: toMetricsAny(await tasks.stats(req.id)) };
    },
    state(req) {
      const { container, process } = tasks.lookup(req.id, req.execId);
      const s = process.state;
      const exit = s.kind === "stopped" || s.kind === "deleted" ? s.exit : undefined;
      return {
        id: process.id,
        bundle: container.bundle,
        pid: s.pid,
        status: STATUS[s.kind],
        stdin: process.stdio.stdin,
        stdout: process.stdio.stdout,
        stderr: process.stdio.stderr,
        terminal: process.stdio.terminal,
        exitStatus: exit?.status ?? 0,
        exitedAt: exit ? timestampFromMs(exit.at) : undefined,
        execId: req.execId,
      };
    },
    connect(req) {
      let taskPid = 0;
      try {
        taskPid = tasks.lookup(req.id, "").process.pid;
      } catch {
        // containerd calls Connect as a liveness check, for a task that may be gone
      }
      return { shimPid: process.pid, taskPid, version: hooks.version };
    },
    shutdown(req) {
      if (req.now || tasks.size === 0) hooks.shutdown(req.now);
      return {};
    },
  });
}
