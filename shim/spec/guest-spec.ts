/**
 * The OCI spec containerd wrote for the host, rewritten for the guest: host-only parts are
 * dropped (namespace paths, cgroups path, hooks, host devices), and every bind mount whose source
 * is a host path becomes a share: the host path is bind-mounted (with its read-only flag) under
 * `<shared dir>/<container id>/mounts/<n>`, and the guest spec points at that path as the guest
 * sees it. Nothing outside a mount's source is visible to the guest.
 */
import { posix } from "node:path";

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

export function guestSpec(hostSpec: OciSpec, containerId: string): GuestSpec {
  const spec: OciSpec = structuredClone(hostSpec);
  delete spec.hooks;
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
    // in the pod's namespaces and its own cgroup tree. Host devices are not in the VM.
    spec.linux.namespaces = (spec.linux.namespaces ?? []).map(({ type }) => ({ type }));
    delete spec.linux.cgroupsPath;
    delete spec.linux.devices;
  }
  return { spec, volumes, readonlyRootfs: spec.root?.readonly ?? false };
}
