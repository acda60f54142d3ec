/** Everything decided before QEMU starts: a fully resolved, plain description of one VM. */
import type { MachineType } from "../../config/types.js";
import type { Accel } from "./args/accel.js";
import type { DiskFormat } from "./args/root-disk.js";

export type ChannelPlan =
  | { kind: "virtio-serial"; socketPath: string; portName: string }
  | { kind: "vsock"; guestCid: number; port: number };

export type SharedFsPlan =
  | { kind: "virtio-fs"; socketPath: string; directory: string; tag: string }
  | { kind: "virtio-9p"; directory: string; tag: string };

/** The pod's taps (already attached in the pod netns); QEMU is started inside that netns. */
export interface NetworkPlan {
  netnsPath: string;
  nics: { tapName: string; mac: string; mtu: number }[];
}

export interface VmPlan {
  sandboxId: string;
  machineType: MachineType;
  accel: Accel;
  cpuModel: string;
  vcpus: number;
  memoryMib: number;
  /** vCPU hotplug ceiling (`-smp maxcpus`); equal to vcpus when the VM cannot grow. */
  maxVcpus: number;
  /** Memory hotplug ceiling (`-m maxmem`), memoryMib + a multiple of 128; equal when it cannot grow. */
  maxMemoryMib: number;
  kernel: string;
  initrd: string | undefined;
  /**
   * The read-only root image: a virtio-blk disk, or (raw, size a multiple of 2 MiB) a
   * virtio-pmem device the guest mounts with DAX.
   */
  image:
    | { device: "blk"; path: string; format: DiskFormat }
    | { device: "pmem"; path: string; sizeBytes: number }
    | undefined;
  /** Kernel parameters from configuration (image's suggestion + user's), appended last. */
  kernelParams: string;
  /**
   * Host TSC rate for the guest's `tsc_early_khz` (microvm under TCG only: with no HPET or PM
   * timer, a stock kernel's PIT calibration of the TSC fails now and then and the boot hangs).
   */
  tscKhz: number | undefined;
  /** Host wall clock when the VM was planned; the guest sets its clock from it. */
  hostTimeMs: number;
  /** Attach a virtio-balloon that returns freed guest pages to the host. */
  freePageReporting: boolean;
  /** TCG translation cache in MiB; 0 = QEMU's default. */
  tcgTbSizeMib: number;
  consoleLog: string;
  qmpSocket: string;
  channel: ChannelPlan;
  sharedFs: SharedFsPlan;
  /** Absent: no network device. */
  network?: NetworkPlan;
  /** Empty PCIe root ports for NICs hotplugged later (warm-pool VMs on q35); absent/0: none. */
  nicHotplugPorts?: number;
}
