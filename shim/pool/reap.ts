/**
 * After the pool is gone (crash, kill -9, or a stop that could not finish): stop every VM still
 * tied to it (tie-registry.ts) and remove what it left. Adopted VMs are not in the record: they
 * belong to their shims and are never touched. Run by the watchdog (watchdog.ts) through
 * reap-main.ts, and by a pool starting on a socket whose previous pool died.
 */
import { rm } from "node:fs/promises";
import { isAlive, terminate } from "../hypervisor/process-identity.js";
import { SandboxResources } from "../hypervisor/sandbox-resources.js";
import { readTieRecord, type TieRecord } from "./tie-registry.js";

export interface ReapReport {
  vms: { id: string; outcome: string }[];
}

export async function reapTiedVms(registryPath: string, stateDir: string): Promise<ReapReport> {
  const record: TieRecord | undefined = await readTieRecord(registryPath);
  const report: ReapReport = { vms: [] };
  for (const vm of record?.vms ?? []) {
    const outcomes: string[] = [];
    for (const p of vm.processes) {
      if (p.startTime && (await isAlive(p))) outcomes.push(`pid ${p.pid} ${await terminate(p, 500)}`);
    }
    try {
      // whatever resources.json names: a VM still booting has its virtiofsd and QEMU there, as
      // each is recorded before it runs (gated-spawn.ts)
      const resources = await SandboxResources.load(stateDir, vm.id);
      const torn = await resources?.teardown(500);
      for (const p of torn?.processes ?? []) outcomes.push(`${p.role} ${p.pid} ${p.outcome}`);
      if (torn?.removedDir) outcomes.push("directory removed");
    } catch (err) {
      outcomes.push(`cleanup failed: ${(err as Error).message}`);
    }
    report.vms.push({ id: vm.id, outcome: outcomes.join(", ") || "nothing left" });
  }
  await rm(registryPath, { force: true });
  return report;
}
