import { describe, expect, it } from "vitest";
import { NetworkArg } from "../../../../../shim/hypervisor/qemu/args/network.js";

describe("NetworkArg", () => {
  it("renders a tap netdev by name and a virtio-net-pci with the pod MAC and MTU, without option ROM", () => {
    expect(new NetworkArg(0, "tsktap0", "0a:58:0a:e1:07:02", 1450, "pci").render()).toEqual([
      "-netdev",
      "tap,id=net0,ifname=tsktap0,script=no,downscript=no,vhost=off",
      "-device",
      "virtio-net-pci,netdev=net0,id=nic0,mac=0a:58:0a:e1:07:02,host_mtu=1450,romfile=",
    ]);
  });

  it("uses virtio-net-device on microvm (virtio-mmio)", () => {
    expect(new NetworkArg(1, "tsktap1", "02:00:00:00:00:01", 1500, "mmio").render()[3]).toBe(
      "virtio-net-device,netdev=net1,id=nic1,mac=02:00:00:00:00:01,host_mtu=1500",
    );
  });
});
