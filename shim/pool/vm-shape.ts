/** The size pool VMs boot with, and whether a pooled VM fits a pod. */
import type { TskataConfig } from "../config/types.js";

export interface Shape {
  memoryMib: number;
  vcpus: number;
}

/** The configuration pool VMs boot with: the [hypervisor] one at the [factory] shape. */
export function poolVmConfig(config: TskataConfig): TskataConfig {
  return {
    ...config,
    hypervisor: { ...config.hypervisor, memoryMib: config.factory.memoryMib, vcpus: config.factory.vcpus },
  };
}

/**
 * Why a VM growable to `max` cannot serve a pod of `wanted` size, or undefined when it can: a VM
 * smaller than the pod is grown by hotplug after adoption, up to its ceilings; a larger one serves
 * as it is (memory hotplug never shrinks a VM either).
 */
export function misfit(max: Shape, wanted: Shape): string | undefined {
  if (wanted.memoryMib > max.memoryMib || wanted.vcpus > max.vcpus)
    return `the pod needs ${show(wanted)}, pool VMs grow to at most ${show(max)}`;
  return undefined;
}

export function show(s: Shape): string {
  return `${s.memoryMib} MiB, ${s.vcpus} vCPU${s.vcpus === 1 ? "" : "s"}`;
}
