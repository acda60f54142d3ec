import { GUEST_PATHS, type RootFormat } from "./config.js";

/** Filesystem type the initramfs passes to mount for a root format. */
export function rootFsType(format: RootFormat): string {
  return format === "ext4" ? "ext4" : "erofs";
}

/**
 * /init of the initramfs: load the disk modules, mount the read-only root disk and switch_root
 * into it (crun needs pivot_root, which fails on an initramfs root). Tunables on the kernel
 * command line: tskata.root=/dev/vda (virtio-blk) or /dev/pmem0 (virtio-pmem),
 * tskata.rootfstype=ext4, tskata.rootflags=dax (extra mount options, comma-separated: the shim
 * asks for DAX on pmem, so the image's pages are the host's page cache, shared by every VM).
 * TSKATA_UPTIME_INITRAMFS (guest uptime as this script starts) goes on to the agent's boot
 * timeline.
 */
export function initramfsInit(format: RootFormat): string {
  return `#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
read -r uptime _ </proc/uptime
export TSKATA_UPTIME_INITRAMFS="$uptime"
mount -t devtmpfs devtmpfs /dev
root=/dev/vda
fstype=${rootFsType(format)}
flags=ro
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    tskata.root=*) root="\${arg#*=}" ;;
    tskata.rootfstype=*) fstype="\${arg#*=}" ;;
    tskata.rootflags=*) flags="ro,\${arg#*=}" ;;
  esac
done
for m in $(cat /modules.load); do
  insmod "/modules/$m" || echo "tskata-initramfs: insmod $m failed"
done
i=0
while [ ! -b "$root" ]; do
  i=$((i + 1))
  if [ "$i" -gt 500 ]; then echo "tskata-initramfs: no root device $root"; exec sh; fi
  usleep 10000
done
if ! mount -t "$fstype" -o "$flags" "$root" /newroot; then
  echo "tskata-initramfs: cannot mount $root ($fstype, $flags)"; exec sh
fi
mount --move /dev /newroot/dev
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
exec switch_root /newroot /usr/sbin/tskata-init
`;
}

/** Node flags for the agent: small young generation and heap cap keep its RSS low in a small VM. */
export const AGENT_NODE_FLAGS = [
  "--max-semi-space-size=1",
  "--max-old-space-size=64",
  "--stack-trace-limit=20",
];

/**
 * Node flags for the agent started from its snapshot (the TCG guest): the same plus --jitless.
 * Under TCG every piece of machine code V8's JIT writes must be translated again by QEMU before it
 * runs, so the interpreter alone boots the agent ~0.25 s sooner with the same container and
 * stdout figures (docs/performance.md, "Memory defaults"). A snapshot only runs with the flags
 * it was taken with. On a KVM guest (`-cpu host`, no snapshot) the JIT stays on.
 */
export const AGENT_SNAPSHOT_NODE_FLAGS = [...AGENT_NODE_FLAGS, "--jitless"];

/**
 * The guest CPU the agent's startup snapshot is taken for: QEMU's TCG "max" model (what the
 * hypervisor layer uses under TCG). Node accepts a snapshot only where V8 detects the same CPU
 * features as where it was taken, so the build runs the snapshot under `qemu-x86_64 -cpu max`.
 */
export const SNAPSHOT_CPU = "max";
/** /proc/cpuinfo model name of that CPU in the guest. */
export const SNAPSHOT_CPU_MODEL_NAME = "QEMU TCG CPU";

/**
 * /usr/sbin/tskata-init in the root filesystem, PID 1 after switch_root: tini becomes PID 1 and
 * reaps orphans re-parented to it; the agent is its only child, and when the agent exits tini
 * exits with its status, so the kernel halts the VM (panic=-1 reboots, QEMU -no-reboot exits).
 * On the CPU the snapshot was taken for the agent starts from it; on any other CPU (KVM's
 * `-cpu host`) from the bundle. tskata.agent_snapshot=on|off on the kernel command line decides
 * instead. tskata.debug_console=TTY starts a busybox shell on /dev/TTY beside the agent.
 * tskata.agent_node_flags=F1,F2 replaces AGENT_NODE_FLAGS and AGENT_SNAPSHOT_NODE_FLAGS
 * (comma-separated; for measuring).
 */
export function rootfsInit(): string {
  const node = `${GUEST_PATHS.node} $node_flags`;
  const snapshotNode = `${GUEST_PATHS.node} $snapshot_node_flags`;
  return `#!/bin/sh
read -r uptime _ </proc/uptime
export TSKATA_UPTIME_ROOTFS_INIT="$uptime"
# the agent keeps blocking reads of character devices (the virtio-serial port, the power
# button) in libuv's thread pool: more threads than the default 4 keep file I/O flowing
export UV_THREADPOOL_SIZE=8
snapshot=auto
debug_console=
node_flags="${AGENT_NODE_FLAGS.join(" ")}"
snapshot_node_flags="${AGENT_SNAPSHOT_NODE_FLAGS.join(" ")}"
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    tskata.agent_snapshot=*) snapshot="\${arg#*=}" ;;
    tskata.agent_node_flags=*) node_flags="\${arg#*=}"; node_flags="\${node_flags//,/ }"; snapshot_node_flags="$node_flags" ;;
    tskata.debug_console=*) debug_console="\${arg#*=}" ;;
  esac
done
# debug console: a busybox shell on the given tty (e.g. ttyS0 with a socket chardev, or hvc0)
if [ -n "$debug_console" ] && [ -c "/dev/$debug_console" ]; then
  setsid -c sh -i </dev/"$debug_console" >/dev/"$debug_console" 2>&1 &
fi
if [ "$snapshot" = auto ]; then
  snapshot=off
  if grep -q -m1 "^model name.*${SNAPSHOT_CPU_MODEL_NAME}" /proc/cpuinfo; then snapshot=on; fi
fi
if [ "$snapshot" = on ]; then
  exec ${GUEST_PATHS.tini} -- ${snapshotNode} --snapshot-blob ${GUEST_PATHS.agentSnapshot}
fi
exec ${GUEST_PATHS.tini} -- ${node} ${GUEST_PATHS.agentEntry}
`;
}
