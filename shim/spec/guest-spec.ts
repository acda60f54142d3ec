/**
 * The OCI spec containerd wrote for the host, rewritten for the guest: host-only parts are
 * dropped (host namespace paths, cgroups path, hooks, host devices), and every bind mount whose
 * source is a host path becomes a share: the host path (a directory or a file) is bind-mounted
 * (with its read-only flag) under `<shared dir>/<container id>/mounts/<n>`, and the guest spec
 * points at that path as the guest sees it. Nothing outside a mount's source is visible to the
 * guest.
 *
 * Namespaces: a path `/proc/<pid>/ns/<type>` naming the init process of another container of the
 * same pod (CRI points app containers at the sandbox container's ipc, uts and — with a shared
 * process namespace — pid namespaces) is kept: the pid the shim reported is the guest's, so the
 * same path names the same namespace inside the VM. The network namespace is always the pod's
 * (the agent's); any other path names something of the host and is dropped (a fresh namespace).
 */
import { posix } from "node:path";
import { checkExecLimits } from "./exec-limits.js";

/** Where the agent mounts the shared filesystem in the guest (its tskata.sharefs_path default). */
export const GUEST_SHARED_DIR = "/run/tskata/shared";

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export type OciSpec = {
  ociVersion?: string;
  process?: Record<string, unknown>;
  root?: { path?: string; readonly?: boolean };
  mounts?: OciMount[];
  hooks?: unknown;
  annotations?: Record<string, string>;
  linux?: {
    namespaces?: { type: string; path?: string }[];
    cgroupsPath?: string;
    devices?: unknown[];
    [key: string]: unknown;
  };
  [key: string]: unknown;
};

/** A host path to bind into the share before the container is created. */
export interface VolumeShare {
  hostSource: string;
  /** Path relative to the shared dir. */
  shareRelPath: string;
  readonly: boolean;
}

export interface GuestSpec {
  spec: OciSpec;
  volumes: VolumeShare[];
  readonlyRootfs: boolean;
}

function isHostBind(m: OciMount): boolean {
  const opts = m.options ?? [];
  return (
    (m.type === "bind" || opts.includes("bind") || opts.includes("rbind")) && (m.source ?? "").startsWith("/")
  );
}

const POD_SHAREABLE = new Set(["ipc", "uts", "pid"]);

function guestNamespace(
  ns: { type: string; path?: string },
  podPids: ReadonlySet<number>,
): { type: string; path?: string } {
  if (ns.path === undefined || ns.type === "network") return { type: ns.type };
  const m = /^\/proc\/(\d+)\/ns\/([a-z]+)$/.exec(ns.path);
  if (m && POD_SHAREABLE.has(ns.type) && m[2] === ns.type && podPids.has(Number(m[1]))) {
    return { type: ns.type, path: ns.path };
  }
  return { type: ns.type };
}

/**
 * `podPids`: the (guest) init pids of the pod's other containers, whose namespaces this
 * container may join.
 */
export function guestSpec(
  hostSpec: OciSpec,
  containerId: string,
  podPids: ReadonlySet<number> = new Set(),
): GuestSpec {
  checkExecLimits(hostSpec.process, `container ${containerId}`);
  const spec: OciSpec = structuredClone(hostSpec);
  // Host hooks run on the host (shim/task/oci-hooks.ts); crun runs these two kinds in the guest.
  const hooks = (hostSpec.hooks ?? {}) as Record<string, unknown>;
  const guestHooks = Object.fromEntries(
    ["createContainer", "startContainer"].filter((k) => Array.isArray(hooks[k])).map((k) => [k, hooks[k]]),
  );
  if (Object.keys(guestHooks).length > 0) spec.hooks = guestHooks;
  else delete spec.hooks;
  const volumes: VolumeShare[] = [];
  spec.mounts = (spec.mounts ?? []).map((m, i) => {
    if (!isHostBind(m)) return m;
    const shareRelPath = posix.join(containerId, "mounts", String(i));
    volumes.push({
      hostSource: m.source!,
      shareRelPath,
      readonly: (m.options ?? []).includes("ro"),
    });
    return { ...m, source: posix.join(GUEST_SHARED_DIR, shareRelPath) };
  });
  if (spec.linux) {
    // Host namespace files and cgroups mean nothing in the guest: the agent places the container
    // in the pod's network namespace and its own cgroup tree. Host devices are not in the VM.
    spec.linux.namespaces = (spec.linux.namespaces ?? []).map((ns) => guestNamespace(ns, podPids));
    delete spec.linux.cgroupsPath;
    delete spec.linux.devices;
  }
  return { spec, volumes, readonlyRootfs: spec.root?.readonly ?? false };
}
