/** A container of the pod as the shim tracks it: its init process, its execs, its host mounts. */
import type { ContainerLimits } from "../sandbox/sizing.js";
import type { ShimProcess } from "./shim-process.js";

export interface Container {
  id: string;
  bundle: string;
  init: ShimProcess;
  execs: Map<string, ShimProcess>;
  /** Host directory `<shared>/<id>` holding the rootfs mount and the volume binds. */
  dir: string;
  rootfs: string;
  /** Host mount points of the volumes shared into the guest, in mount order. */
  volumes: string[];
  /** The CRI sandbox ("pause") container: the pod's VM stops with it. */
  isPodSandbox: boolean;
  /** Memory and CPU limits from its spec (the VM grows by them). */
  limits: ContainerLimits;
}

export function processOf(c: Container, execId: string): ShimProcess | undefined {
  return execId === "" ? c.init : c.execs.get(execId);
}
