/**
 * Decides a VM before anything is started: accelerator (probe), agent channel, shared
 * filesystem and disk format, all from configuration and what this host can do. Throws typed
 * errors naming the reason; creates nothing but the KVM probe's cache file.
 */
import { randomInt } from "node:crypto";
import { constants } from "node:fs";
import { access, open, readFile } from "node:fs/promises";
import type { Logger } from "pino";
import { vhostVsockAvailability } from "../../agent-client/transport/vsock.js";
import type { TskataConfig } from "../../config/types.js";
import { type AccelChoice, chooseAccel } from "../accel.js";
import { HypervisorError } from "../errors.js";
import type { SandboxPaths } from "../sandbox-resources.js";
import type { DiskFormat } from "./args/root-disk.js";
import type { ChannelPlan, SharedFsPlan, VmPlan } from "./vm-plan.js";

export const SHARED_FS_TAG = "tskata";

export interface PlannedVm {
  plan: VmPlan;
  accel: AccelChoice;
  notes: string[];
}

export async function planVm(
  config: TskataConfig,
  paths: SandboxPaths,
  sandboxId: string,
  log: Logger,
): Promise<PlannedVm> {
  const h = config.hypervisor;
  const notes: string[] = [];
  const accel = await chooseAccel(
    h.accel,
    {
      qemuPath: h.path,
      kernel: h.kernel,
      machineType: h.machineType,
      timeoutMs: h.kvmProbeTimeoutMs,
      stateDir: config.runtime.stateDir,
    },
    log,
  );
  const channel = await chooseChannel(config, paths, notes);
  const sharedFs = await chooseSharedFs(config, paths, notes);
  const image = h.image ? { path: h.image, format: await diskFormat(h.image) } : undefined;
  const plan: VmPlan = {
    sandboxId,
    machineType: h.machineType,
    accel: accel.accel,
    cpuModel: h.cpuModel,
    vcpus: h.vcpus,
    memoryMib: h.memoryMib,
    kernel: h.kernel,
    initrd: h.initrd,
    image,
    kernelParams: h.kernelParams,
    hostTimeMs: Date.now(),
    freePageReporting: h.freePageReporting,
    tcgTbSizeMib: h.tcgTbSizeMib,
    tscKhz: h.machineType === "microvm" && accel.accel === "tcg" ? await hostTscKhz() : undefined,
    consoleLog: paths.consoleLog,
    qmpSocket: paths.qmpSocket,
    channel,
    sharedFs,
  };
  return { plan, accel, notes };
}

async function chooseChannel(
  config: TskataConfig,
  paths: SandboxPaths,
  notes: string[],
): Promise<ChannelPlan> {
  const setting = config.hypervisor.agentTransport;
  const serial: ChannelPlan = {
    kind: "virtio-serial",
    socketPath: paths.agentSocket,
    portName: config.agent.serialPortName,
  };
  if (setting === "virtio-serial") return serial;
  const vsock = await vhostVsockAvailability();
  if (!vsock.usable) {
    if (setting === "vsock") {
      throw new HypervisorError(
        "AGENT_CHANNEL_UNAVAILABLE",
        `hypervisor.agent_transport = "vsock" but vsock is unusable: ${vsock.reason}`,
      );
    }
    notes.push(`agent channel virtio-serial (vsock unusable: ${vsock.reason})`);
    return serial;
  }
  return { kind: "vsock", guestCid: randomGuestCid(), port: config.agent.vsockPort };
}

/** Guest CIDs 0-2 are reserved; the rest must be unique per host (QEMU refuses a taken one). */
export function randomGuestCid(): number {
  return randomInt(3, 0x7fffffff);
}

async function chooseSharedFs(
  config: TskataConfig,
  paths: SandboxPaths,
  notes: string[],
): Promise<SharedFsPlan> {
  const h = config.hypervisor;
  const virtiofs: SharedFsPlan = {
    kind: "virtio-fs",
    socketPath: paths.virtiofsdSocket,
    directory: paths.shared,
    tag: SHARED_FS_TAG,
  };
  const ninep: SharedFsPlan = { kind: "virtio-9p", directory: paths.shared, tag: SHARED_FS_TAG };
  if (h.sharedFs === "virtio-9p") return ninep;
  const usable = await access(h.virtiofsdPath, constants.X_OK).then(
    () => true,
    () => false,
  );
  if (usable) return virtiofs;
  if (h.sharedFs === "virtio-fs") {
    throw new HypervisorError(
      "SHARED_FS_UNAVAILABLE",
      `hypervisor.shared_fs = "virtio-fs" but hypervisor.virtiofsd_path ${h.virtiofsdPath} is not executable`,
    );
  }
  if (h.machineType === "microvm") {
    throw new HypervisorError(
      "SHARED_FS_UNAVAILABLE",
      `no shared filesystem: virtiofsd ${h.virtiofsdPath} is missing and virtio-9p needs a PCI machine (hypervisor.machine_type = "microvm")`,
    );
  }
  notes.push(`shared fs virtio-9p (virtiofsd ${h.virtiofsdPath} missing)`);
  return ninep;
}

/** The host's TSC rate as the kernel reports it (`cpu MHz` of the first CPU), if readable. */
export async function hostTscKhz(): Promise<number | undefined> {
  const text = await readFile("/proc/cpuinfo", "utf8").catch(() => "");
  const mhz = Number(/^cpu MHz\s*:\s*([\d.]+)/m.exec(text)?.[1]);
  return Number.isFinite(mhz) && mhz > 0 ? Math.round(mhz * 1000) : undefined;
}

/** qcow2 images start with "QFI\xfb"; anything else is attached raw. */
export async function diskFormat(path: string): Promise<DiskFormat> {
  const handle = await open(path, "r");
  try {
    const head = Buffer.alloc(4);
    await handle.read(head, 0, 4, 0);
    return head.equals(Buffer.from([0x51, 0x46, 0x49, 0xfb])) ? "qcow2" : "raw";
  } finally {
    await handle.close();
  }
}
