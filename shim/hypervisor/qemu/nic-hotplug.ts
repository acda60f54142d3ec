/**
 * Plugging a pod's NICs into a running QEMU (a warm-pool VM adopted for a pod with a network):
 * for each tap already attached in the pod netns (shim/network tc-redirect.ts), open it there
 * (native/tap.ts), pass the fd to QEMU (`getfd` with SCM_RIGHTS on QMP), `netdev_add` a tap
 * netdev on that fd, and `device_add` a virtio-net-pci with CNI's MAC and MTU on a free PCIe root
 * port (q35, ports made at boot: args/nic-ports.ts) or on the root bus (pc, ACPI hotplug). The
 * guest sees the NIC appear; the agent waits for its MAC (UpdateInterface). A failure unplugs
 * what this call plugged, then throws HYPERVISOR_HOTPLUG_FAILED naming the NIC and the step.
 */
import { closeSync } from "node:fs";
import { openTapInNetns } from "../../../native/tap.js";
import type { MachineType } from "../../config/types.js";
import { HypervisorError } from "../errors.js";
import type { VmNetworkRequest } from "../hypervisor.js";
import { NIC_PORT_PREFIX } from "./args/nic-ports.js";
import type { QmpClient } from "./qmp.js";

/**
 * How many spare NIC root ports a VM that may get NICs after boot has (q35): warm-pool VMs, and
 * VMs whose container's hooks configure a network (SandboxSpec.hookNetwork).
 */
export const SPARE_NIC_PORTS = 2;

/** Ids of what one hotplugged NIC consists of; `index` is its root port's number (q35) or its place in the pod's NIC list (pc). */
export function nicIds(index: number): { fdName: string; netdev: string; device: string } {
  return { fdName: `tskfd${index}`, netdev: `tsknet${index}`, device: `tsknic${index}` };
}

/** Where NICs can be hotplugged: onto empty root ports (q35), the root bus (pc), nowhere (microvm). */
export function nicHotplugSupport(machineType: MachineType): "root-ports" | "root-bus" | "none" {
  return machineType === "q35" ? "root-ports" : machineType === "pc" ? "root-bus" : "none";
}

/** `netdev_add` arguments: a tap on an fd QEMU holds under `fdName`, vhost off (no /dev/vhost-net assumed). */
export function tapNetdevArgs(netdev: string, fdName: string): Record<string, unknown> {
  return { type: "tap", id: netdev, fd: fdName, vhost: false };
}

/** `device_add` arguments: virtio-net-pci with the pod interface's MAC and MTU, no option ROM. */
export function nicDeviceArgs(
  device: string,
  netdev: string,
  nic: { mac: string; mtu: number },
  bus: string | undefined,
): Record<string, unknown> {
  return {
    driver: "virtio-net-pci",
    id: device,
    netdev,
    mac: nic.mac,
    host_mtu: nic.mtu,
    romfile: "",
    ...(bus ? { bus } : {}),
  };
}

/** One `qom-list` entry. */
export interface QomProperty {
  name: string;
  type: string;
}

/**
 * The NIC root ports (`qom-list /machine/peripheral`: user-created devices by id) with nothing
 * plugged: a port `tsknicportN` is taken while a device `tsknicN` exists. Lowest first.
 */
export function freeNicPorts(peripherals: readonly QomProperty[]): string[] {
  const names = new Set(peripherals.map((p) => p.name));
  return peripherals
    .map((p) => new RegExp(`^${NIC_PORT_PREFIX}(\\d+)$`).exec(p.name))
    .filter((m): m is RegExpExecArray => m !== null && !names.has(nicIds(Number(m[1])).device))
    .map((m) => ({ name: m[0], n: Number(m[1]) }))
    .sort((a, b) => a.n - b.n)
    .map((p) => p.name);
}

/**
 * Plugs one virtio-net per tap of `network` into the VM behind `qmp` (a connection opened with
 * fdPassing). All or nothing: on failure what was plugged is removed again.
 */
export async function plugNics(
  sandboxId: string,
  qmp: QmpClient,
  machineType: MachineType,
  network: VmNetworkRequest,
): Promise<void> {
  const failed = (what: string, err: unknown): HypervisorError =>
    new HypervisorError(
      "HYPERVISOR_HOTPLUG_FAILED",
      `sandbox ${sandboxId}: NIC hotplug: ${what}: ${(err as Error).message}`,
      { cause: err },
    );
  const support = nicHotplugSupport(machineType);
  if (support === "none")
    throw failed("machine type", new Error(`${machineType} has no PCI hotplug (hypervisor.machine_type)`));
  let slots: { n: number; bus: string | undefined }[] = network.nics.map((_, i) => ({
    n: i,
    bus: undefined,
  }));
  if (support === "root-ports") {
    let free: string[];
    try {
      free = freeNicPorts(await qmp.execute<QomProperty[]>("qom-list", { path: "/machine/peripheral" }));
    } catch (err) {
      throw failed("listing root ports", err);
    }
    if (free.length < network.nics.length)
      throw failed(
        "root ports",
        new Error(`the pod has ${network.nics.length} interfaces, the VM ${free.length} free NIC root ports`),
      );
    slots = free
      .slice(0, network.nics.length)
      .map((bus) => ({ n: Number(bus.slice(NIC_PORT_PREFIX.length)), bus }));
  }
  const plugged: number[] = [];
  try {
    for (const [i, nic] of network.nics.entries()) {
      const slot = slots[i]!;
      const ids = nicIds(slot.n);
      let fd: number;
      try {
        fd = openTapInNetns(network.netnsPath, nic.tapName);
      } catch (err) {
        throw failed(`opening ${nic.tapName} in ${network.netnsPath}`, err);
      }
      try {
        await qmp.getFd(ids.fdName, fd);
      } catch (err) {
        throw failed(`passing the fd of ${nic.tapName} (getfd)`, err);
      } finally {
        closeSync(fd); // QEMU has its own copy now
      }
      try {
        await qmp.execute("netdev_add", tapNetdevArgs(ids.netdev, ids.fdName));
      } catch (err) {
        await qmp.closeFd(ids.fdName).catch(() => undefined);
        throw failed(`netdev_add for ${nic.tapName}`, err);
      }
      try {
        await qmp.execute("device_add", nicDeviceArgs(ids.device, ids.netdev, nic, slot.bus));
      } catch (err) {
        await qmp.execute("netdev_del", { id: ids.netdev }).catch(() => undefined);
        throw failed(`device_add for ${nic.mac} (${nic.tapName})`, err);
      }
      plugged.push(slot.n);
    }
  } catch (err) {
    for (const n of plugged.reverse()) {
      const ids = nicIds(n);
      await qmp.execute("device_del", { id: ids.device }).catch(() => undefined);
      await qmp.execute("netdev_del", { id: ids.netdev }).catch(() => undefined);
    }
    throw err;
  }
}
