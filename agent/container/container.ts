/** A container in the guest: its bundle, cgroup, init process, execs, and a guarded state. */
import { join } from "node:path";
import { CGROUP_ROOT, containerCgroupPath } from "../cgroups/cgroup-fs.js";
import type { SupervisedProcess } from "../process/supervised-process.js";
import type { Bundle } from "./bundle.js";
import { ContainerError } from "./errors.js";

export type ContainerState =
  | { kind: "created" }
  | { kind: "running" }
  | { kind: "paused" }
  | { kind: "stopped" };
export type ContainerStateKind = ContainerState["kind"];

export class Container {
  state: ContainerState = { kind: "created" };
  readonly execs = new Map<string, SupervisedProcess>();
  readonly cgroupDir: string;

  constructor(
    readonly id: string,
    readonly bundle: Bundle,
    readonly init: SupervisedProcess,
  ) {
    this.cgroupDir = join(CGROUP_ROOT, containerCgroupPath(id));
  }

  /** Throws ERR_WRONG_STATE unless the state is one of `allowed`. */
  require(action: string, allowed: readonly ContainerStateKind[]): void {
    if (!allowed.includes(this.state.kind))
      throw new ContainerError(
        "ERR_WRONG_STATE",
        `cannot ${action} container ${this.id} in ${this.state.kind} state`,
      );
  }

  /** Moves to `next` only from one of `from`; returns whether it moved. */
  transition(from: readonly ContainerStateKind[], next: ContainerState): boolean {
    if (!from.includes(this.state.kind)) return false;
    this.state = next;
    return true;
  }

  process(execId: string): SupervisedProcess {
    if (execId === "") return this.init;
    const p = this.execs.get(execId);
    if (!p)
      throw new ContainerError(
        "ERR_PROCESS_NOT_FOUND",
        `process ${execId} not found in container ${this.id}`,
      );
    return p;
  }
}
