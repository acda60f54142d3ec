/**
 * The shim's half of an adoption: a VM the pool leased becomes this sandbox's. Its directory and
 * its socket directory are renamed to this sandbox's (QEMU and virtiofsd keep their open sockets
 * and files; the paths the shim, `delete` and resources.json use are then the usual ones), the
 * record is claimed (owner =
 * this shim), QMP is connected, and a QemuVm supervises it like a VM this shim started, except
 * that QEMU is not our child: its exit is seen by polling its identity (and at once when QMP
 * closes). On any failure the VM is stopped and its directory removed before the error leaves.
 */
import { rename, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";
import type { Logger } from "pino";
import type { AgentTransport } from "../agent-client/transport/transport.js";
import { VirtioSerialTransport } from "../agent-client/transport/virtio-serial.js";
import { VsockTransport } from "../agent-client/transport/vsock.js";
import type { TskataConfig } from "../config/types.js";
import { isAlive, type ProcessIdentity, terminate } from "../hypervisor/process-identity.js";
import { type QemuProcess, QemuVm } from "../hypervisor/qemu/qemu-vm.js";
import { QmpClient } from "../hypervisor/qemu/qmp.js";
import { SandboxResources, sandboxPaths } from "../hypervisor/sandbox-resources.js";
import type { ChildExit } from "../hypervisor/virtiofsd.js";
import { PoolError } from "./errors.js";
import type { PooledVmDescription } from "./pooled-vm.js";

const EXIT_POLL_MS = 200;

export async function adoptPooledVm(
  d: PooledVmDescription,
  config: TskataConfig,
  sandboxId: string,
  log: Logger,
): Promise<QemuVm> {
  const stateDir = config.runtime.stateDir;
  const paths = sandboxPaths(stateDir, sandboxId);
  if (await stat(paths.dir).catch(() => undefined)) {
    const stale = await SandboxResources.load(stateDir, sandboxId);
    const live = (await stale?.liveProcesses()) ?? [];
    if (live.length > 0) throw new PoolError("POOL_ADOPT_FAILED", `sandbox directory ${paths.dir} is in use`);
    await stale?.teardown();
  }
  const processes = [d.qemu, ...(d.virtiofsd ? [d.virtiofsd] : [])];
  try {
    await rename(d.sandboxDir, paths.dir);
    // the sockets live in a directory named after the id too (sandbox-resources.ts)
    if (dirname(d.qmpSocket) !== paths.socketDir) {
      await rm(paths.socketDir, { recursive: true, force: true });
      await rename(dirname(d.qmpSocket), paths.socketDir);
    }
  } catch (err) {
    await stopProcesses(processes);
    throw new PoolError("POOL_ADOPT_FAILED", `taking over ${d.sandboxDir}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let qmp: QmpClient | undefined;
  let resources: SandboxResources | undefined;
  try {
    resources = await SandboxResources.load(stateDir, sandboxId);
    if (!resources) throw new Error(`no resources record in ${paths.dir}`);
    await resources.claim();
    if (!(await isAlive(d.qemu))) throw new Error(`QEMU pid ${d.qemu.pid} is gone`);
    // fdPassing: a pod's NICs are plugged in over this connection (tap fds as SCM_RIGHTS)
    qmp = await QmpClient.connect(paths.qmpSocket, { timeoutMs: 5000, fdPassing: true });
    const status = await qmp.queryStatus();
    if (!status.running) throw new Error(`QEMU reports the VM ${status.status}`);
    const transport: AgentTransport =
      d.agentTransport === "vsock"
        ? new VsockTransport(d.guestCid, d.vsockPort)
        : new VirtioSerialTransport(paths.agentSocket);
    return new QemuVm({
      sandboxId,
      child: adoptedProcess(d.qemu),
      childExited: exitOf(d.qemu),
      qmp,
      resources,
      virtiofsd: undefined,
      transport,
      stderr: () => "",
      stopTimeoutMs: config.hypervisor.stopTimeoutMs,
      dialTimeoutMs: config.agent.dialTimeoutMs,
      sizing: {
        memoryMib: d.shape.memoryMib,
        vcpus: d.shape.vcpus,
        maxMemoryMib: d.maxShape.memoryMib,
        maxVcpus: d.maxShape.vcpus,
        sharedMemory: d.sharedMemory,
        dimms: 0,
      },
      log,
    });
  } catch (err) {
    qmp?.destroy();
    await stopProcesses(processes);
    await resources?.teardown().catch((e: unknown) => log.error({ err: e }, "cleanup failed"));
    throw new PoolError("POOL_ADOPT_FAILED", `adopting pool VM ${d.id}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Signals go to the pid only while it is still the same process. */
function adoptedProcess(id: ProcessIdentity): QemuProcess {
  return {
    pid: id.pid,
    kill: (signal?: NodeJS.Signals | number) => {
      try {
        process.kill(id.pid, signal ?? "SIGTERM");
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** Resolves once the process is gone (not our child: no exit status, polled). */
async function exitOf(id: ProcessIdentity): Promise<ChildExit> {
  while (await isAlive(id)) await new Promise((r) => setTimeout(r, EXIT_POLL_MS));
  return { code: null, signal: null };
}

async function stopProcesses(processes: ProcessIdentity[]): Promise<void> {
  for (const p of processes) if (p.startTime) await terminate(p, 500);
}
