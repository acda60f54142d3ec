/**
 * The VMs tied to the pool, on disk: every VM the pool boots is listed (before QEMU starts) until
 * a shim has adopted it or the pool stopped it. When the pool dies, its watchdog hands this file
 * to the reaper (reap.ts), which stops exactly these VMs. Rewritten atomically on every change.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { ProcessIdentity } from "../hypervisor/process-identity.js";

export interface TiedVm {
  /** Sandbox id in the state dir (sandboxes/<id>/, whose resources.json names its processes). */
  id: string;
  /** QEMU and virtiofsd once known: a shim may have renamed the directory during adoption. */
  processes: ProcessIdentity[];
}

export interface TieRecord {
  poolPid: number;
  vms: TiedVm[];
}

/** `<socket path>.tied.json`: one registry per pool socket. */
export function tieRegistryPath(socketPath: string): string {
  return `${socketPath}.tied.json`;
}

export class TieRegistry {
  private readonly vms = new Map<string, TiedVm>();

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o711 });
  }

  tie(id: string, processes: ProcessIdentity[] = []): void {
    this.vms.set(id, { id, processes });
    this.persist();
  }

  untie(id: string): void {
    if (this.vms.delete(id)) this.persist();
  }

  get ids(): string[] {
    return [...this.vms.keys()];
  }

  /** Synchronous, so that the record is on disk before the caller goes on (e.g. starts QEMU). */
  private persist(): void {
    const record: TieRecord = { poolPid: process.pid, vms: [...this.vms.values()] };
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(record));
    renameSync(tmp, this.path);
  }
}

export async function readTieRecord(path: string): Promise<TieRecord | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as TieRecord;
  } catch {
    return undefined;
  }
}
