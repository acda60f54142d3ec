/** Builds QEMU's command line from a VmPlan as a list of typed, self-rendering pieces. */
import { AccelArg } from "./args/accel.js";
import { VirtioSerialChannelArg, VsockDeviceArg } from "./args/agent-channel.js";
import { BalloonArg } from "./args/balloon.js";
import { BaseArgs } from "./args/base.js";
import { SerialConsoleArg } from "./args/console.js";
import { CpuArg } from "./args/cpu.js";
import { KernelArg } from "./args/kernel.js";
import { MachineArg } from "./args/machine.js";
import { MemoryArg } from "./args/memory.js";
import { NetworkArg } from "./args/network.js";
import { NicHotplugPortsArg } from "./args/nic-ports.js";
import type { QemuArg } from "./args/qemu-arg.js";
import { QmpSocketArg } from "./args/qmp-socket.js";
import { RootDiskArg } from "./args/root-disk.js";
import { pmemRegionMib, RootPmemArg } from "./args/root-pmem.js";
import { Virtio9pArg, VirtioFsArg } from "./args/shared-fs.js";
import type { VmPlan } from "./vm-plan.js";

/**
 * The runtime's own kernel parameters, then the configured ones (the image's suggested line and
 * the user's). The tskata.* words are the agent's boot protocol (agent/init/cmdline.ts):
 *   tskata.channel=serial tskata.port=<port name> | tskata.channel=vsock tskata.vsock_port=<port>
 *   tskata.sharefs=virtiofs:<tag> | 9p:<tag>      tskata.time=<host ms since epoch>
 * and the initramfs's: tskata.root=/dev/vda (virtio-blk) | /dev/pmem0 tskata.rootflags=dax.
 */
export function kernelParams(plan: VmPlan): string[] {
  const channel =
    plan.channel.kind === "virtio-serial"
      ? ["tskata.channel=serial", `tskata.port=${plan.channel.portName}`]
      : ["tskata.channel=vsock", `tskata.vsock_port=${plan.channel.port}`];
  const share = plan.sharedFs.kind === "virtio-fs" ? "virtiofs" : "9p";
  return [
    "console=ttyS0",
    "panic=-1",
    ...(plan.machineType === "microvm" ? ["reboot=t"] : []),
    ...(plan.tscKhz ? [`tsc_early_khz=${plan.tscKhz}`] : []),
    ...(plan.image?.device === "pmem" ? ["tskata.root=/dev/pmem0", "tskata.rootflags=dax"] : []),
    ...(plan.image?.device === "blk" ? ["tskata.root=/dev/vda"] : []),
    ...channel,
    `tskata.sharefs=${share}:${plan.sharedFs.tag}`,
    `tskata.time=${plan.hostTimeMs}`,
    // hotplugged DIMMs come online as the guest kernel adds them (growing only: no need for
    // online_movable, which would keep the kernel's own allocations off the new memory)
    ...(plan.maxMemoryMib > plan.memoryMib ? ["memhp_default_state=online"] : []),
    ...plan.kernelParams.split(/\s+/).filter((p) => p !== ""),
  ];
}

export function qemuArgs(plan: VmPlan): QemuArg[] {
  const pmemMib = plan.image?.device === "pmem" ? pmemRegionMib(plan.image.sizeBytes) : 0;
  const memory = new MemoryArg(
    plan.memoryMib,
    plan.sharedFs.kind === "virtio-fs",
    plan.maxMemoryMib,
    pmemMib,
  );
  const machine = new MachineArg(plan.machineType, memory.backendId);
  const args: QemuArg[] = [
    new BaseArgs(plan.sandboxId),
    machine,
    new AccelArg(plan.accel, plan.tcgTbSizeMib),
    new CpuArg(plan.cpuModel, plan.accel, plan.vcpus, plan.maxVcpus),
    memory,
    new KernelArg(plan.kernel, plan.initrd, kernelParams(plan)),
  ];
  if (plan.image?.device === "blk")
    args.push(new RootDiskArg(plan.image.path, plan.image.format, machine.bus));
  if (plan.image?.device === "pmem") args.push(new RootPmemArg(plan.image.path, plan.image.sizeBytes));
  args.push(
    plan.channel.kind === "virtio-serial"
      ? new VirtioSerialChannelArg(plan.channel.socketPath, plan.channel.portName, machine.bus)
      : new VsockDeviceArg(plan.channel.guestCid, machine.bus),
  );
  args.push(
    plan.sharedFs.kind === "virtio-fs"
      ? new VirtioFsArg(plan.sharedFs.socketPath, plan.sharedFs.tag, machine.bus)
      : new Virtio9pArg(plan.sharedFs.directory, plan.sharedFs.tag),
  );
  for (const [i, nic] of (plan.network?.nics ?? []).entries())
    args.push(new NetworkArg(i, nic.tapName, nic.mac, nic.mtu, machine.bus));
  if (plan.nicHotplugPorts && plan.machineType === "q35")
    args.push(new NicHotplugPortsArg(plan.nicHotplugPorts));
  if (plan.freePageReporting) args.push(new BalloonArg(machine.bus));
  args.push(new SerialConsoleArg(plan.consoleLog), new QmpSocketArg(plan.qmpSocket));
  return args;
}

export function renderCommandLine(plan: VmPlan): string[] {
  return qemuArgs(plan).flatMap((arg) => arg.render());
}
