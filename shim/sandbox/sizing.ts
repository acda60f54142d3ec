/**
 * How big a pod's VM should be, as Kata sizes it: the configured base plus what the pod's
 * containers are limited to (their `linux.resources`), or what the kubelet announced for the
 * whole pod when that is more. Memory is what a container may use, so a limit adds to the VM; a
 * container without a limit adds nothing (it shares the base).
 */
import { readFileSync } from "node:fs";
import type { OciSpec } from "../spec/guest-spec.js";
import { SandboxError } from "./errors.js";
import type { SandboxSpec } from "./sandbox-spec.js";

export interface VmSize {
  memoryMib: number;
  vcpus: number;
}

export interface ContainerLimits {
  memoryBytes: number;
  /** CPUs as a fraction (quota / period); 0 = no CPU limit. */
  cpus: number;
}

const MIB = 1024 * 1024;

interface LinuxResources {
  memory?: { limit?: number };
  cpu?: { quota?: number; period?: number };
}

/** A container's memory and CPU limits from its spec; absent or unlimited (-1, 0) count as none. */
export function containerLimits(spec: OciSpec): ContainerLimits {
  const r = (spec.linux?.["resources"] ?? {}) as LinuxResources;
  const limit = Number(r.memory?.limit ?? 0);
  const quota = Number(r.cpu?.quota ?? 0);
  const period = Number(r.cpu?.period ?? 0);
  return {
    memoryBytes: Number.isFinite(limit) && limit > 0 ? limit : 0,
    cpus: quota > 0 && period > 0 ? quota / period : 0,
  };
}

/**
 * The VM size a pod needs: base + max(announced pod total, sum of its containers' limits).
 * vCPUs round up (a container limited to 1.5 CPUs needs 2).
 */
export function podSize(
  base: VmSize,
  announced: SandboxSpec["announced"],
  containers: readonly ContainerLimits[],
): VmSize {
  const sumMemory = containers.reduce((s, c) => s + c.memoryBytes, 0);
  const sumCpus = containers.reduce((s, c) => s + c.cpus, 0);
  const announcedCpus =
    announced.cpuQuota > 0 && announced.cpuPeriod > 0 ? announced.cpuQuota / announced.cpuPeriod : 0;
  return {
    memoryMib: base.memoryMib + Math.ceil(Math.max(announced.memoryBytes, sumMemory) / MIB),
    vcpus: base.vcpus + Math.ceil(Math.max(announcedCpus, sumCpus) - 1e-9),
  };
}

/** The host's total memory in MiB (/proc/meminfo), or undefined when unreadable. */
export function hostMemoryMib(meminfo = "/proc/meminfo"): number | undefined {
  try {
    const kb = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync(meminfo, "utf8"))?.[1]);
    return Number.isFinite(kb) && kb > 0 ? Math.floor(kb / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Refuses memory the host cannot give (naming what was asked and what there is) and caps vCPUs
 * at `maxVcpus` (the host's CPUs, or the configured base when that is more), as Kata's
 * default_maxvcpus does: more vCPUs than CPUs only adds contention.
 */
export function fitToHost(what: string, size: VmSize, hostMib: number | undefined, maxVcpus: number): VmSize {
  if (hostMib !== undefined && size.memoryMib > hostMib) {
    throw new SandboxError(
      "SANDBOX_RESOURCES_EXCEEDED",
      `${what} needs ${size.memoryMib} MiB of VM memory, more than this host has (${hostMib} MiB)`,
    );
  }
  return { memoryMib: size.memoryMib, vcpus: Math.max(1, Math.min(size.vcpus, maxVcpus)) };
}
