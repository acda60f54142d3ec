/** The typed runtime configuration (what `configuration.toml` becomes after validation). */

export const MACHINE_TYPES = ["q35", "microvm", "pc"] as const;
export type MachineType = (typeof MACHINE_TYPES)[number];

export const ACCEL_SETTINGS = ["kvm", "tcg", "auto"] as const;
export type AccelSetting = (typeof ACCEL_SETTINGS)[number];

export const SHARED_FS_SETTINGS = ["virtio-fs", "virtio-9p", "auto"] as const;
export type SharedFsSetting = (typeof SHARED_FS_SETTINGS)[number];
/**
 * How the read-only root image reaches the guest: virtio-pmem mapped with DAX, virtio-blk, or
 * auto (pmem when the image can be mapped and the machine has PCI, else blk).
 */
export const ROOT_IMAGE_DEVICES = ["pmem", "blk", "auto"] as const;
export type RootImageDevice = (typeof ROOT_IMAGE_DEVICES)[number];

export const AGENT_TRANSPORTS = ["vsock", "virtio-serial", "auto"] as const;
export type AgentTransportSetting = (typeof AGENT_TRANSPORTS)[number];

export const VIRTIOFS_CACHE_MODES = ["auto", "always", "none"] as const;
export type VirtiofsCacheMode = (typeof VIRTIOFS_CACHE_MODES)[number];

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface HypervisorConfig {
  /** Absolute path of the QEMU binary. */
  path: string;
  machineType: MachineType;
  accel: AccelSetting;
  /** `-cpu` model; empty = `host` under KVM, `max` under TCG. */
  cpuModel: string;
  vcpus: number;
  memoryMib: number;
  /** Most vCPUs a running VM may grow to by hotplug; 0 = the host's CPU count. */
  maxVcpus: number;
  /** Most memory (MiB) a running VM may grow to by hotplug; 0 = the host's MemTotal. */
  maxMemoryMib: number;
  /** Absolute path of the guest kernel (always set after loading). */
  kernel: string;
  /** Absolute path of the read-only root disk image, or undefined. */
  image: string | undefined;
  /**
   * The root image as virtio-pmem (its pages mapped from the host page cache, shared by every
   * VM, mounted with DAX) or as a virtio-blk disk (read into each guest's page cache).
   */
  rootImageDevice: RootImageDevice;
  /** Absolute path of the initrd, or undefined. At least one of image/initrd is set. */
  initrd: string | undefined;
  /** Extra kernel parameters appended after the runtime's own. */
  kernelParams: string;
  sharedFs: SharedFsSetting;
  virtiofsdPath: string;
  virtiofsCache: VirtiofsCacheMode;
  agentTransport: AgentTransportSetting;
  /** virtio-balloon free page reporting (freed guest memory goes back to the host). */
  freePageReporting: boolean;
  /** TCG translation cache size in MiB (0 = QEMU's default); caps QEMU's memory under TCG. */
  tcgTbSizeMib: number;
  /** Bound on the KVM usability probe (a real guest-kernel boot under KVM). */
  kvmProbeTimeoutMs: number;
  /** Bound on a graceful guest poweroff before QEMU is told to quit. */
  stopTimeoutMs: number;
}

export interface AgentConfig {
  /** How long the host keeps retrying to reach the agent after boot. */
  dialTimeoutMs: number;
  /** vsock port the agent listens on. */
  vsockPort: number;
  /** virtio-serial port name the agent opens in the guest. */
  serialPortName: string;
  /** Whether the admin socket runs debug processes in the guest (`tskata exec`). */
  debugExec: boolean;
}

export interface RuntimeConfig {
  stateDir: string;
  logLevel: LogLevel;
}

/** The warm VM pool (`[factory]`, docs/pool.md). */
export interface FactoryConfig {
  /** Shims ask the pool for a booted VM before booting one cold. */
  enabled: boolean;
  /** Idle VMs the pool keeps booted. */
  poolSize: number;
  /** Memory the pool's VMs boot with (resolved: the [hypervisor] value when 0 in the file). */
  memoryMib: number;
  /** vCPUs the pool's VMs boot with (resolved like memoryMib). */
  vcpus: number;
  /** The pool's gRPC unix socket (resolved: <state dir>/pool.sock when empty in the file). */
  socketPath: string;
  /** The pool boots no idle VM while the host's MemAvailable is below this (MiB). */
  minHostAvailableMib: number;
  /** How long a shim waits for the pool's answer before it boots cold. */
  acquireTimeoutMs: number;
  /** After handing out a VM, how long the pool waits before booting its replacement. */
  refillDelayMs: number;
}

export interface TskataConfig {
  hypervisor: HypervisorConfig;
  agent: AgentConfig;
  runtime: RuntimeConfig;
  factory: FactoryConfig;
  /** Where the configuration came from (a path, or `defaults`). */
  source: string;
}
