/** What goes into the guest image: the Debian packages, kernel modules and layout. */

/** Meta package whose single dependency names the current cloud kernel image package. */
export const KERNEL_META_PACKAGE = "linux-image-cloud-amd64";

/**
 * Debian packages unpacked into the staging tree. The ELF closure of the guest binaries is
 * checked against this tree, so a missing library fails the build with the soname named.
 */
export const DEB_PACKAGES = [
  "busybox-static",
  "tini",
  "crun",
  // Node (official binary) and crun link against these.
  "libc6",
  "libstdc++6",
  "libgcc-s1",
  "libsystemd0",
  "libseccomp2",
  "libcap2",
  "libyajl2",
  "libgcrypt20",
  "liblzma5",
  "libzstd1",
  "liblz4-1",
  "libgpg-error0",
] as const;

/**
 * Modules the initramfs loads (dependencies added automatically): the ones to find and mount
 * the root disk, virtio_console for the agent channel, the power button. insmod there costs a few ms each;
 * `modprobe virtio_console` from the agent cost ~0.6 s under TCG, on the critical path.
 */
export const INITRAMFS_MODULES = [
  "virtio_pci",
  "virtio_mmio",
  "virtio_blk",
  // the root image as virtio-pmem, mounted with DAX (hypervisor.root_image_device = "pmem")
  "virtio_pmem",
  "nd_pmem",
  "virtio_console",
  // the ACPI power button as an input device, watched from the moment the agent listens
  "button",
  "evdev",
] as const;

/** Modules shipped in the root filesystem for the agent to load (dependencies added automatically). */
export const ROOTFS_MODULES = [
  "virtio_pci",
  "virtio_mmio",
  "virtio_blk",
  "virtio_console",
  "virtio_net",
  "vmw_vsock_virtio_transport",
  "fuse",
  "virtiofs",
  // 9p is not available: the cloud kernel is built without CONFIG_NET_9P (virtio-fs only).
  "overlay",
  "erofs",
  // free page reporting: pages the guest frees go back to the host
  "virtio_balloon",
  // ACPI power button (QMP system_powerdown) as an input event the agent reads
  "button",
  "evdev",
] as const;

/**
 * Kernel parameters for a quick boot of a VM whose devices are all virtio (the set Kata
 * Containers uses, less pci=lastbus=0, which would hide devices behind a PCIe root port):
 * no legacy keyboard/mouse probing, no TSC and IO-APIC timer checks, no crypto self-tests, no
 * SMP alternatives patching. Measured under TCG: /init reached 2.05 s vs 2.70 s without, and
 * 3.72 s vs 3.80 s in a busier run. mitigations=off gave nothing measurable and stays out.
 */
export const KERNEL_PARAMS = [
  "console=ttyS0",
  "quiet",
  "panic=-1",
  "tsc=reliable",
  "no_timer_check",
  "noreplace-smp",
  "cryptomgr.notests",
  "i8042.noaux",
  "i8042.nomux",
  "i8042.nopnp",
  "i8042.dumbkbd",
] as const;

/** Paths inside the guest root filesystem. */
export const GUEST_PATHS = {
  agentDir: "/usr/lib/tskata/agent",
  agentEntry: "/usr/lib/tskata/agent/agent.cjs",
  agentSnapshot: "/usr/lib/tskata/agent/agent.blob",
  node: "/usr/bin/node",
  crun: "/usr/bin/crun",
  tini: "/usr/bin/tini",
  busybox: "/usr/bin/busybox",
  libDir: "/usr/lib/x86_64-linux-gnu",
  loader: "/usr/lib64/ld-linux-x86-64.so.2",
} as const;

/** Root filesystem formats the build can produce. */
export type RootFormat = "ext4" | "erofs" | "erofs-lz4";
export const ROOT_FORMATS: readonly RootFormat[] = ["ext4", "erofs", "erofs-lz4"];
export const DEFAULT_ROOT_FORMAT: RootFormat = "ext4";
