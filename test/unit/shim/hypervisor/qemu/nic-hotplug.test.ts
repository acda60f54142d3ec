/**
 * The pure pieces of NIC hotplug into a running QEMU: the root ports warm-pool VMs boot with, the
 * QMP arguments of netdev_add/device_add, and which root ports are still free.
 */
import { describe, expect, it } from "vitest";
import { NicHotplugPortsArg } from "../../../../../shim/hypervisor/qemu/args/nic-ports.js";
import { renderCommandLine } from "../../../../../shim/hypervisor/qemu/cmdline.js";
import {
  freeNicPorts,
  nicDeviceArgs,
  nicHotplugSupport,
  nicIds,
  tapNetdevArgs,
} from "../../../../../shim/hypervisor/qemu/nic-hotplug.js";
import type { VmPlan } from "../../../../../shim/hypervisor/qemu/vm-plan.js";
import { testVmPlan } from "../../../../support/vm-plan.js";

const plan = testVmPlan;

describe("NIC root ports", () => {
  it("renders one pcie-root-port per NIC slot on pcie.0, each with its own chassis", () => {
    expect(new NicHotplugPortsArg(2).render()).toEqual([
      "-device",
      "pcie-root-port,id=tsknicport0,bus=pcie.0,chassis=16",
      "-device",
      "pcie-root-port,id=tsknicport1,bus=pcie.0,chassis=17",
    ]);
  });

  it("are on the command line of a q35 VM planned with them, and of no other", () => {
    const ports = (p: VmPlan) => renderCommandLine(p).filter((a) => a.startsWith("pcie-root-port"));
    expect(ports(plan({ nicHotplugPorts: 2 }))).toHaveLength(2);
    expect(ports(plan())).toEqual([]);
    expect(ports(plan({ nicHotplugPorts: 2, machineType: "pc" }))).toEqual([]);
  });
});

describe("NIC hotplug QMP arguments", () => {
  it("netdev_add: a tap on the fd QEMU holds by name, vhost off as a JSON boolean", () => {
    expect(tapNetdevArgs("tsknet0", "tskfd0")).toEqual({
      type: "tap",
      id: "tsknet0",
      fd: "tskfd0",
      vhost: false,
    });
  });

  it("device_add: virtio-net-pci with CNI's MAC and MTU, no option ROM, on the given port", () => {
    expect(
      nicDeviceArgs("tsknic1", "tsknet1", { mac: "0a:58:0a:df:01:05", mtu: 1450 }, "tsknicport1"),
    ).toEqual({
      driver: "virtio-net-pci",
      id: "tsknic1",
      netdev: "tsknet1",
      mac: "0a:58:0a:df:01:05",
      host_mtu: 1450,
      romfile: "",
      bus: "tsknicport1",
    });
    expect(
      nicDeviceArgs("tsknic0", "tsknet0", { mac: "02:00:00:00:00:01", mtu: 1500 }, undefined),
    ).not.toHaveProperty("bus");
  });

  it("ids of one NIC share its number", () => {
    expect(nicIds(3)).toEqual({ fdName: "tskfd3", netdev: "tsknet3", device: "tsknic3" });
  });

  it("q35 plugs into root ports, pc into its root bus, microvm cannot", () => {
    expect(nicHotplugSupport("q35")).toBe("root-ports");
    expect(nicHotplugSupport("pc")).toBe("root-bus");
    expect(nicHotplugSupport("microvm")).toBe("none");
  });
});

describe("freeNicPorts", () => {
  const entry = (name: string, type = "child<pcie-root-port>") => ({ name, type });

  it("lists the NIC root ports without a NIC, lowest number first, ignoring other devices", () => {
    expect(
      freeNicPorts([
        entry("serial0", "child<virtio-serial-pci>"),
        entry("tsknicport10"),
        entry("tsknicport1"),
        entry("tsknicport0"),
        entry("tsknic1", "child<virtio-net-pci>"),
        entry("tsknicportx"),
      ]),
    ).toEqual(["tsknicport0", "tsknicport10"]);
  });

  it("is empty for a VM booted without ports (a pool VM from before NIC hotplug)", () => {
    expect(freeNicPorts([entry("serial0", "child<virtio-serial-pci>")])).toEqual([]);
  });
});
