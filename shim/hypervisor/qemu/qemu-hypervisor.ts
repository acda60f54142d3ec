/**
 * The QEMU backend: plan the VM (probe, channel, shared fs), create the sandbox directory,
 * start virtiofsd, spawn QEMU (supervised as our child, never daemonized), connect QMP and check
 * the guest runs. Any failure tears down whatever was already started before the error leaves.
 */
import type { ChildProcess } from "node:child_process";
import { rm, stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { AgentTransport } from "../../agent-client/transport/transport.js";
import { VirtioSerialTransport } from "../../agent-client/transport/virtio-serial.js";
import { VsockTransport } from "../../agent-client/transport/vsock.js";
import type { TskataConfig } from "../../config/types.js";
import { HypervisorError } from "../errors.js";
import { spawnGated } from "../gated-spawn.js";
import type { Hypervisor, StartRequest } from "../hypervisor.js";
import { SandboxResources, sandboxPaths } from "../sandbox-resources.js";
import { type ChildExit, Virtiofsd } from "../virtiofsd.js";
import { renderCommandLine } from "./cmdline.js";
import { planVm, randomGuestCid } from "./plan.js";
import { describeExit, QemuVm, within } from "./qemu-vm.js";
import { QmpClient } from "./qmp.js";
import type { VmPlan } from "./vm-plan.js";

const QMP_READY_TIMEOUT_MS = 10_000;
const CID_ATTEMPTS = 3;

interface Spawned {
  child: ChildProcess;
  exited: Promise<ChildExit>;
  stderr: () => string;
  /** QEMU runs only after this (gated-spawn.ts): call it once its pid is recorded. */
  release: () => void;
  cancel: () => void;
}

export interface QemuHypervisorOptions {
  /** Empty PCIe root ports for NICs plugged after boot (q35 only; warm-pool VMs). Default 0. */
  nicHotplugPorts?: number;
}

export class QemuHypervisor implements Hypervisor {
  constructor(
    private readonly config: TskataConfig,
    private readonly log: Logger,
    private readonly options: QemuHypervisorOptions = {},
  ) {}

  async start(request: StartRequest): Promise<QemuVm> {
    const { sandboxId } = request;
    const log = this.log.child({ sandboxId });
    const started = performance.now();
    const paths = sandboxPaths(this.config.runtime.stateDir, sandboxId);
    const { plan, notes } = await planVm(this.config, paths, sandboxId, log);
    request.timeline?.mark("vm-plan");
    for (const note of notes) log.info(note);
    if (request.network) plan.network = { netnsPath: request.network.netnsPath, nics: request.network.nics };
    if (this.options.nicHotplugPorts) plan.nicHotplugPorts = this.options.nicHotplugPorts;
    const resources = await SandboxResources.create(this.config.runtime.stateDir, sandboxId);
    let virtiofsd: Virtiofsd | undefined;
    let qemu: Spawned | undefined;
    let qmp: QmpClient | undefined;
    try {
      if (plan.network) {
        await resources.setNetwork({
          netnsPath: plan.network.netnsPath,
          tapNames: plan.network.nics.map((n) => n.tapName),
        });
      }
      // A vsock guest CID another VM holds makes QEMU fail at start: retry with a fresh CID, and a
      // fresh virtiofsd (the failed QEMU may have used up its single connection).
      for (let attempt = 1; ; attempt++) {
        if (plan.sharedFs.kind === "virtio-fs") {
          await rm(plan.sharedFs.socketPath, { force: true });
          virtiofsd = await Virtiofsd.start({
            path: this.config.hypervisor.virtiofsdPath,
            socketPath: plan.sharedFs.socketPath,
            sharedDir: plan.sharedFs.directory,
            cache: this.config.hypervisor.virtiofsCache,
            log,
            record: async (pid) => {
              await resources.addProcess("virtiofsd", pid);
            },
          });
          request.timeline?.mark("virtiofsd");
        }
        qemu = this.spawnQemu(plan, log);
        // recorded before it runs: a shim or pool killed at any point leaves no unrecorded QEMU
        await resources.addProcess("qemu", qemu.child.pid!);
        qemu.release();
        request.timeline?.mark("qemu-spawn");
        try {
          // NICs plugged after boot ride as fds on this connection (nic-hotplug.ts)
          qmp = await connectQmp(paths.qmpSocket, qemu, (plan.nicHotplugPorts ?? 0) > 0);
          request.timeline?.mark("qmp-ready");
          break;
        } catch (err) {
          const channel = plan.channel;
          const cidTaken = channel.kind === "vsock" && /guest.cid/i.test(qemu.stderr());
          if (!cidTaken || attempt >= CID_ATTEMPTS) throw err;
          log.info({ guestCid: channel.guestCid }, "vsock guest CID taken, retrying with another");
          virtiofsd?.kill();
          await virtiofsd?.exited;
          plan.channel = { ...channel, guestCid: randomGuestCid() };
        }
      }
      const status = await qmp.queryStatus();
      if (!status.running) {
        throw new HypervisorError(
          "VM_START_FAILED",
          `QEMU started but the VM is ${status.status}, not running`,
        );
      }
      const vm = new QemuVm({
        sandboxId,
        child: qemu.child,
        childExited: qemu.exited,
        qmp,
        resources,
        virtiofsd,
        transport: this.transport(plan),
        stderr: qemu.stderr,
        stopTimeoutMs: this.config.hypervisor.stopTimeoutMs,
        dialTimeoutMs: this.config.agent.dialTimeoutMs,
        sizing: {
          memoryMib: plan.memoryMib,
          vcpus: plan.vcpus,
          maxMemoryMib: plan.maxMemoryMib,
          maxVcpus: plan.maxVcpus,
          sharedMemory: plan.sharedFs.kind === "virtio-fs",
          dimms: 0,
        },
        log,
      });
      log.info(
        { pid: qemu.child.pid, accel: plan.accel, channel: plan.channel.kind, sharedFs: plan.sharedFs.kind },
        `VM started in ${Math.round(performance.now() - started)} ms`,
      );
      return vm;
    } catch (err) {
      qmp?.destroy();
      qemu?.cancel();
      qemu?.child.kill("SIGKILL");
      virtiofsd?.kill();
      if (qemu) await within(qemu.exited, 2000);
      await resources
        .teardown()
        .catch((cleanupErr: unknown) => log.error({ err: cleanupErr }, "cleanup failed"));
      if (err instanceof HypervisorError) throw err;
      throw new HypervisorError("VM_START_FAILED", `sandbox ${sandboxId}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  private spawnQemu(plan: VmPlan, log: Logger): Spawned {
    const qemuArgs = renderCommandLine(plan);
    // QEMU never runs in the host's network namespace. In a pod's netns (where the taps are)
    // nsenter enters it; any other VM gets an empty netns of its own. The gate and either tool
    // exec QEMU, so the child's pid and start time stay QEMU's (the resources record identifies
    // QEMU by them).
    // Host OCI hooks get QEMU's pid as the container's (as Kata's do): a hook that configures the
    // network at /proc/PID/ns/net (Docker's libnetwork-setkey, nerdctl's CNI hook) must find the
    // VM's own namespace there, never the host's.
    const [command, args] = plan.network
      ? ["nsenter", [`--net=${plan.network.netnsPath}`, "--", this.config.hypervisor.path, ...qemuArgs]]
      : ["unshare", ["--net", "--", this.config.hypervisor.path, ...qemuArgs]];
    log.debug({ command, args }, "starting QEMU");
    const { child, release, cancel } = spawnGated(command, args, { stdout: "ignore", stderr: "pipe" });
    let stderr = "";
    child.stderr?.setEncoding("utf8").on("data", (s: string) => {
      stderr = (stderr + s).slice(-8192);
    });
    const exited = new Promise<ChildExit>((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal }));
      child.once("error", () => resolve({ code: null, signal: null }));
    });
    if (child.pid === undefined) {
      throw new HypervisorError("VM_START_FAILED", `cannot run ${this.config.hypervisor.path}`);
    }
    return { child, exited, stderr: () => stderr.trim(), release, cancel };
  }

  private transport(plan: VmPlan): AgentTransport {
    return plan.channel.kind === "virtio-serial"
      ? new VirtioSerialTransport(plan.channel.socketPath)
      : new VsockTransport(plan.channel.guestCid, plan.channel.port);
  }
}

/** Waits for QEMU's QMP socket and negotiates; fails at once (with QEMU's stderr) if QEMU exits. */
async function connectQmp(socketPath: string, qemu: Spawned, fdPassing: boolean): Promise<QmpClient> {
  let exit: ChildExit | undefined;
  void qemu.exited.then((e) => {
    exit = e;
  });
  const exitedError = (e: ChildExit): HypervisorError =>
    new HypervisorError(
      "VM_START_FAILED",
      `QEMU exited during start (${describeExit(e)}): ${qemu.stderr() || "no output"}`,
    );
  const deadline = Date.now() + QMP_READY_TIMEOUT_MS;
  while (!(await stat(socketPath).catch(() => undefined))) {
    if (exit) throw exitedError(exit);
    if (Date.now() > deadline) {
      throw new HypervisorError(
        "VM_START_FAILED",
        `QEMU did not open its QMP socket within ${QMP_READY_TIMEOUT_MS} ms`,
      );
    }
    await sleep(5);
  }
  try {
    return await QmpClient.connect(socketPath, {
      timeoutMs: Math.max(1000, deadline - Date.now()),
      ...(fdPassing ? { fdPassing: true } : {}),
    });
  } catch (err) {
    const e = exit ?? (await within(qemu.exited, 200));
    if (e) throw exitedError(e);
    throw err;
  }
}
