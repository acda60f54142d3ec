/**
 * Growing a running QEMU VM: memory as 128 MiB-aligned pc-dimms (ACPI memory hotplug), vCPUs as
 * the CPU type QEMU lists in `query-hotpluggable-cpus`. Every limit is checked before anything
 * is plugged, so a refused request changes nothing.
 */
import { HypervisorError, ResourcesExceededError } from "../errors.js";
import type { VmResources } from "../hypervisor.js";
import { HOTPLUG_ALIGN_MIB, HOTPLUG_SLOTS } from "./args/memory.js";
import type { QmpClient } from "./qmp.js";

/** What the VM has and may grow to; `memoryMib`/`vcpus`/`dimms` change as it grows. */
export interface VmSizing {
  memoryMib: number;
  vcpus: number;
  maxMemoryMib: number;
  maxVcpus: number;
  /** Hotplugged memory must be a shared memfd (vhost-user devices such as virtio-fs map it). */
  sharedMemory: boolean;
  /** DIMMs plugged so far (each takes a slot). */
  dimms: number;
}

export interface GrowPlan {
  /** MiB to plug as one DIMM (0 = none). */
  addMemoryMib: number;
  addVcpus: number;
}

/**
 * What growing to `target` takes, or ResourcesExceededError naming every limit it breaks.
 * Memory grows by whole 128 MiB steps (rounded up); smaller targets keep the current size.
 */
export function planGrowth(
  sandboxId: string,
  sizing: Readonly<VmSizing>,
  target: VmResources,
  hostAvailableMib: number,
): GrowPlan {
  for (const [name, value] of [
    ["memoryMib", target.memoryMib],
    ["vcpus", target.vcpus],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new HypervisorError(
        "HYPERVISOR_RESIZE_INVALID",
        `sandbox ${sandboxId}: resize ${name} must be a positive integer, got ${value}`,
      );
    }
  }
  const wanted = Math.max(0, target.memoryMib - sizing.memoryMib);
  const addMemoryMib = Math.ceil(wanted / HOTPLUG_ALIGN_MIB) * HOTPLUG_ALIGN_MIB;
  const addVcpus = Math.max(0, target.vcpus - sizing.vcpus);
  const problems: string[] = [];
  if (addMemoryMib > 0) {
    const memoryMib = sizing.memoryMib + addMemoryMib;
    const asked = `memory ${target.memoryMib} MiB (${memoryMib} MiB in ${HOTPLUG_ALIGN_MIB} MiB steps)`;
    if (memoryMib > sizing.maxMemoryMib) {
      problems.push(
        `${asked} is above this VM's limit of ${sizing.maxMemoryMib} MiB (hypervisor.max_memory_mib)`,
      );
    } else if (sizing.dimms >= HOTPLUG_SLOTS) {
      problems.push(`${asked} needs a memory slot and all ${HOTPLUG_SLOTS} are used`);
    }
    if (addMemoryMib > hostAvailableMib) {
      problems.push(`${asked} adds ${addMemoryMib} MiB but the host has ${hostAvailableMib} MiB available`);
    }
  }
  if (target.vcpus > sizing.maxVcpus) {
    problems.push(
      `${target.vcpus} vCPUs is above this VM's limit of ${sizing.maxVcpus} (hypervisor.max_vcpus)`,
    );
  }
  if (problems.length > 0) throw new ResourcesExceededError(sandboxId, problems.join("; "));
  return { addMemoryMib, addVcpus };
}

/** Plugs what `plan` says and updates `sizing` as each piece lands. */
export async function grow(
  sandboxId: string,
  qmp: QmpClient,
  sizing: VmSizing,
  plan: GrowPlan,
): Promise<void> {
  const failed = (what: string, err: unknown): HypervisorError =>
    new HypervisorError(
      "HYPERVISOR_HOTPLUG_FAILED",
      `sandbox ${sandboxId}: ${what} failed (VM now has ${sizing.memoryMib} MiB, ${sizing.vcpus} vCPUs): ${(err as Error).message}`,
      { cause: err },
    );
  if (plan.addMemoryMib > 0) {
    try {
      await qmp.addMemoryDimm(`dimm${sizing.dimms}`, plan.addMemoryMib, sizing.sharedMemory);
    } catch (err) {
      throw failed(`plugging a ${plan.addMemoryMib} MiB DIMM`, err);
    }
    sizing.dimms++;
    sizing.memoryMib += plan.addMemoryMib;
  }
  if (plan.addVcpus > 0) {
    let free: Awaited<ReturnType<QmpClient["queryHotpluggableCpus"]>>;
    try {
      free = (await qmp.queryHotpluggableCpus()).filter((c) => c.qomPath === undefined).sort(bySlot);
    } catch (err) {
      throw failed("query-hotpluggable-cpus", err);
    }
    for (let i = 0; i < plan.addVcpus; i++) {
      const slot = free[i];
      if (!slot) throw failed(`plugging vCPU ${sizing.vcpus + 1}`, new Error("QEMU has no free CPU slot"));
      try {
        await qmp.addCpu(`vcpu${sizing.vcpus}`, slot);
      } catch (err) {
        throw failed(`plugging vCPU ${sizing.vcpus + 1}`, err);
      }
      sizing.vcpus += slot.vcpusCount;
    }
  }
}

/** Lowest socket, then core, then thread first: the guest numbers CPUs in that order. */
function bySlot(a: { props: Record<string, number> }, b: { props: Record<string, number> }): number {
  for (const key of ["socket-id", "die-id", "core-id", "thread-id"]) {
    const d = (a.props[key] ?? 0) - (b.props[key] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
