/**
 * The guest-side OCI bundle of a container: /run/tskata/containers/<id>/ with config.json
 * rewritten for the guest and rootfs/ (the shared directory or block device mounted there).
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MountFlags, mount } from "../../native/mount.js";
import { containerCgroupPath } from "../cgroups/cgroup-fs.js";
import type { OciSpec } from "../spec/types.js";
import { ContainerError } from "./errors.js";
import {
  ALL_DEVICES_ALLOWED,
  grantCapabilities,
  guestPrivileges,
  isPrivileged,
  type PrivilegedGrant,
} from "./privileged.js";
import { mountStorage, type StorageSpec, unmountQuietly } from "./sandbox.js";

export const CONTAINERS_DIR = "/run/tskata/containers";

export type RootfsSource =
  | { kind: "shared"; path: string }
  | { kind: "block"; device: string; fstype: string; options: string[] };

export interface BundlePlan {
  id: string;
  spec: OciSpec;
  rootfs: RootfsSource;
  readonly: boolean;
  terminal: boolean;
  storages: StorageSpec[];
  /** The pod's network namespace, if a sandbox exists. */
  netns: string | undefined;
}

export interface Bundle {
  dir: string;
  rootfs: string;
  mounts: string[];
  /** A privileged container's grant (its execs get the same capabilities); undefined otherwise. */
  privileges?: PrivilegedGrant;
}

/**
 * The spec as crun gets it in the guest (pure: tested on its own). `privileges`: the guest's device
 * nodes and capabilities, given to a privileged container (`isPrivileged`) in place of the
 * host's.
 */
export function guestSpec(
  plan: BundlePlan,
  rootfsPath: string,
  privileges: PrivilegedGrant = { devices: [], capabilities: [] },
): OciSpec {
  const spec: OciSpec = structuredClone(plan.spec);
  spec.root = { path: rootfsPath, readonly: plan.readonly || spec.root.readonly === true };
  spec.process.terminal = plan.terminal;
  spec.linux ??= {};
  spec.linux.cgroupsPath = containerCgroupPath(plan.id);
  if (isPrivileged(spec)) {
    spec.linux["devices"] = privileges.devices;
    spec.linux.resources = { ...spec.linux.resources, devices: structuredClone(ALL_DEVICES_ALLOWED) };
    grantCapabilities(spec.process, privileges.capabilities);
  }
  if (plan.netns && spec.linux.namespaces)
    spec.linux.namespaces = spec.linux.namespaces.map((ns) =>
      ns.type === "network" ? { type: "network", path: plan.netns } : ns,
    );
  return spec;
}

export function prepareBundle(plan: BundlePlan): Bundle {
  const dir = join(CONTAINERS_DIR, plan.id);
  const rootfs = join(dir, "rootfs");
  mkdirSync(rootfs, { recursive: true });
  const mounts: string[] = [];
  let privileges: PrivilegedGrant | undefined;
  try {
    if (plan.rootfs.kind === "shared") {
      mount({
        source: plan.rootfs.path,
        target: rootfs,
        fstype: null,
        flags: MountFlags.BIND | MountFlags.REC,
      });
    } else {
      mount({
        source: plan.rootfs.device,
        target: rootfs,
        fstype: plan.rootfs.fstype,
        flags: plan.readonly ? MountFlags.RDONLY : 0,
        data: plan.rootfs.options.join(",") || null,
      });
    }
    mounts.push(rootfs);
    for (const s of plan.storages) {
      mountStorage(s);
      mounts.push(s.mountPoint);
    }
    privileges = isPrivileged(plan.spec) ? guestPrivileges() : undefined;
    writeFileSync(join(dir, "config.json"), JSON.stringify(guestSpec(plan, rootfs, privileges)));
  } catch (err) {
    removeBundle({ dir, rootfs, mounts });
    if (err instanceof ContainerError) throw err;
    throw new ContainerError("ERR_SPEC_INVALID", `cannot prepare the bundle: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return { dir, rootfs, mounts, ...(privileges ? { privileges } : {}) };
}

export function removeBundle(bundle: Bundle): void {
  for (const m of [...bundle.mounts].reverse()) unmountQuietly(m);
  rmSync(bundle.dir, { recursive: true, force: true });
}
