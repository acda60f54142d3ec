/**
 * Decides a VM before anything is started: accelerator (probe), agent channel, shared
 * filesystem and disk format, all from configuration and what this host can do. Throws typed
 * errors naming the reason; creates nothing but the KVM probe's cache file.
 */
import { randomInt } from "node:crypto";
import { constants } from "node:fs";
import { access, open, readFile, stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import type { Logger } from "pino";
import { vhostVsockAvailability } from "../../agent-client/transport/vsock.js";
import type { MachineType, RootImageDevice, TskataConfig } from "../../config/types.js";
import { type AccelChoice, chooseAccel } from "../accel.js";
import { HypervisorError } from "../errors.js";
import type { SandboxPaths } from "../sandbox-resources.js";
import { hotplugMaxMemoryMib } from "./args/memory.js";
import type { DiskFormat } from "./args/root-disk.js";
import { PMEM_ALIGN_BYTES } from "./args/root-pmem.js";
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
  const image = h.image ? await rootImage(h.image, h.rootImageDevice, h.machineType, notes) : undefined;
  const plan: VmPlan = {
    sandboxId,
    machineType: h.machineType,
    accel: accel.accel,
    cpuModel: h.cpuModel,
    vcpus: h.vcpus,
    memoryMib: h.memoryMib,
    ...(await growthRoom(config)),
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

/**
 * How the root image is attached. "pmem" maps the file itself as guest memory: it must be raw and
 * its size a whole number of 128 MiB steps (the guest image build pads it), on a PCI machine;
 * otherwise "pmem" is refused naming hypervisor.root_image_device, and "auto" takes virtio-blk
 * with a note saying why.
 */
export async function rootImage(
  path: string,
  device: RootImageDevice,
  machineType: MachineType = "q35",
  notes: string[] = [],
): Promise<VmPlan["image"]> {
  const format = await diskFormat(path);
  if (device === "blk") return { device, path, format };
  const { size } = await stat(path);
  const unsuitable =
    machineType === "microvm"
      ? "needs a PCI machine (virtio-pmem-pci), not microvm"
      : format !== "raw"
        ? `is ${format}; pmem maps the file as memory and needs a raw image`
        : size === 0 || size % PMEM_ALIGN_BYTES !== 0
          ? `is ${size} bytes, not a multiple of ${PMEM_ALIGN_BYTES / 1048576} MiB (rebuild it with npm run build:guest, or pad it with truncate)`
          : undefined;
  if (unsuitable === undefined) return { device: "pmem", path, sizeBytes: size };
  if (device === "auto") {
    notes.push(`root image on virtio-blk: ${path} ${unsuitable}`);
    return { device: "blk", path, format };
  }
  throw new HypervisorError(
    "ROOT_IMAGE_UNSUITABLE",
    `hypervisor.root_image_device = "pmem": ${path} ${unsuitable}`,
  );
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

/**
 * The ceilings a VM may grow to by hotplug: configured, or the host's (0). microvm has no ACPI
 * hotplug, so it never grows.
 */
export async function growthRoom(config: TskataConfig): Promise<{ maxVcpus: number; maxMemoryMib: number }> {
  const h = config.hypervisor;
  if (h.machineType === "microvm") return { maxVcpus: h.vcpus, maxMemoryMib: h.memoryMib };
  const maxVcpus = Math.max(h.vcpus, h.maxVcpus || availableParallelism());
  const ceiling = h.maxMemoryMib || (await hostMemTotalMib());
  return { maxVcpus, maxMemoryMib: hotplugMaxMemoryMib(h.memoryMib, ceiling) };
}

/** The host's MemTotal in MiB (/proc/meminfo). */
export async function hostMemTotalMib(): Promise<number> {
  return meminfoMib("MemTotal");
}

/** The host's MemAvailable in MiB: what a memory hotplug may take without pushing the host to swap. */
export async function hostMemAvailableMib(): Promise<number> {
  return meminfoMib("MemAvailable");
}

async function meminfoMib(field: string): Promise<number> {
  const text = await readFile("/proc/meminfo", "utf8");
  const kib = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1];
  if (kib === undefined) throw new HypervisorError("VM_START_FAILED", `no ${field} in /proc/meminfo`);
  return Math.floor(Number(kib) / 1024);
}
