/**
 * QEMU's open files, each classified: what a VM needs (its sockets, the tap, /dev/kvm, the guest
 * memory memfd, the guest image files, its console log, /dev/null …) or a host fd that leaked
 * into it (anything else: a shim pipe, containerd's files, the test's files).
 */
import { readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../../shim/config/paths.js";

export interface QemuFd {
  fd: number;
  target: string;
  /** Why it is expected, or undefined when it is not. */
  role: string | undefined;
}

const FIXED: [RegExp, string][] = [
  [/^\/dev\/null$/, "stdio to /dev/null"],
  [/^socket:\[\d+\]$/, "its own sockets (QMP, agent, virtiofsd, monitor)"],
  [/^pipe:\[\d+\]$/, "stdio pipe to the shim / QEMU's internal event pipes"],
  [
    /^anon_inode:\[?(eventfd|eventpoll|signalfd|timerfd|io_uring|kvm-vm|kvm-vcpu[^\]]*|userfaultfd)\]?$/,
    "QEMU's event loop and accelerator",
  ],
  [/^anon_inode:kvm-vcpu:\d+$/, "KVM vCPU"],
  [/^\/dev\/kvm$/, "the accelerator"],
  [/^\/dev\/net\/tun$/, "the pod's tap"],
  [/^\/dev\/(urandom|random)$/, "entropy for virtio-rng / QEMU"],
  [/^\/dev\/ptmx$|^\/dev\/pts\/\d+$/, "a console pty"],
  [/^\/memfd:.*\(deleted\)$/, "guest memory (memfd, shared with virtiofsd)"],
  [/^\/dev\/vhost-(vsock|net)$/, "vhost device"],
];

export function qemuFds(pid: number, sandboxDir: string, socketDir: string): QemuFd[] {
  const guestDir = join(packageRoot() ?? "/nonexistent", "build");
  return readdirSync(`/proc/${pid}/fd`).map((fd) => {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      target = "(closed while listing)";
    }
    let role = FIXED.find(([re]) => re.test(target))?.[1];
    if (!role && (target.startsWith(`${sandboxDir}/`) || target.startsWith(`${socketDir}/`)))
      role = "the sandbox's own files (console log, sockets)";
    if (!role && (target.startsWith(`${guestDir}/`) || target.startsWith("/usr/share/tskata/")))
      role = "guest image (kernel, initrd, root image)";
    if (!role && /^\/usr\/share\/(qemu|seabios)\//.test(target)) role = "QEMU firmware";
    return { fd: Number(fd), target, role };
  });
}
