/** A container of the pod as the shim tracks it: its init process, its execs, its host mounts. */
import type { ContainerLimits } from "../sandbox/sizing.js";
import type { HostHooks } from "./oci-hooks.js";
import type { ShimProcess } from "./shim-process.js";
import type { IoOwner } from "./stdio-owner.js";

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
  /** runc's IoUid/IoGid from the task's runtime options: the owner of its processes' stdio. */
  ioOwner?: IoOwner | undefined;
  /** The spec's host hooks (poststart and poststop run after create). */
  hooks?: HostHooks;
  /** The spec's OCI version and annotations, for the hooks' state. */
  ociVersion?: string;
  annotations?: Record<string, string>;
}

export function processOf(c: Container, execId: string): ShimProcess | undefined {
  return execId === "" ? c.init : c.execs.get(execId);
}
