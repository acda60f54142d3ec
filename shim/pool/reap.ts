/**
 * After the pool is gone (crash, kill -9, or a stop that could not finish): stop every VM still
 * tied to it (tie-registry.ts) and remove what it left. Adopted VMs are not in the record: they
 * belong to their shims and are never touched. Run by the watchdog (watchdog.ts) through
 * reap-main.ts, and by a pool starting on a socket whose previous pool died.
 */
import { rm } from "node:fs/promises";
import { connect } from "node:net";
import { isAlive, terminate } from "../hypervisor/process-identity.js";
import { SandboxResources, sandboxPaths } from "../hypervisor/sandbox-resources.js";
import { isListening } from "../hypervisor/virtiofsd.js";
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
    // a VM killed while booting may have a virtiofsd not yet in resources.json, waiting for a
    // QEMU that will never connect: one connection that closes at once makes it exit
    if (await releaseWaitingVirtiofsd(sandboxPaths(stateDir, vm.id).virtiofsdSocket))
      outcomes.push("waiting virtiofsd released");
    try {
      // whatever resources.json names (covers a VM still booting, whose pids only it knows)
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

/**
 * Debian's virtiofsd serves one connection and exits when it closes. One still listening has no
 * QEMU yet (a VM killed during its boot): connect and close. True when one was listening.
 */
async function releaseWaitingVirtiofsd(socketPath: string): Promise<boolean> {
  if (!(await isListening(socketPath))) return false;
  await new Promise<void>((resolve) => {
    const socket = connect(socketPath);
    const done = () => {
      socket.destroy();
      resolve();
    };
    socket.once("connect", done);
    socket.once("error", done);
    setTimeout(done, 500).unref();
  });
  return true;
}
