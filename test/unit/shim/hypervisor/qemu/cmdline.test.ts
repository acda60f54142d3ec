import { describe, expect, it } from "vitest";
import { AccelArg } from "../../../../../shim/hypervisor/qemu/args/accel.js";
import {
  VirtioSerialChannelArg,
  VsockDeviceArg,
} from "../../../../../shim/hypervisor/qemu/args/agent-channel.js";
import { CpuArg } from "../../../../../shim/hypervisor/qemu/args/cpu.js";
import { MachineArg } from "../../../../../shim/hypervisor/qemu/args/machine.js";
import { hotplugMaxMemoryMib, MemoryArg } from "../../../../../shim/hypervisor/qemu/args/memory.js";
import { optValue } from "../../../../../shim/hypervisor/qemu/args/qemu-arg.js";
import { RootDiskArg } from "../../../../../shim/hypervisor/qemu/args/root-disk.js";
import { pmemRegionMib } from "../../../../../shim/hypervisor/qemu/args/root-pmem.js";
import { Virtio9pArg, VirtioFsArg } from "../../../../../shim/hypervisor/qemu/args/shared-fs.js";
import { kernelParams, renderCommandLine } from "../../../../../shim/hypervisor/qemu/cmdline.js";
import type { VmPlan } from "../../../../../shim/hypervisor/qemu/vm-plan.js";
import { PLAN_DIR, testVmPlan } from "../../../../support/vm-plan.js";

const D = PLAN_DIR;
const plan = testVmPlan;

describe("QEMU command line", () => {
  it("renders the full q35 + virtio-fs + virtio-serial line", () => {
    expect(renderCommandLine(plan())).toEqual([
      ...[
        "-name",
        "tskata-s1,debug-threads=on",
        "-nodefaults",
        "-no-user-config",
        "-nographic",
        "-no-reboot",
      ],
      ...["-machine", "q35,memory-backend=mem", "-accel", "tcg,thread=multi", "-cpu", "max", "-smp", "2"],
      ...["-m", "512M", "-object", "memory-backend-memfd,id=mem,size=512M,share=on"],
      "-kernel",
      "/g/vmlinuz",
      "-append",
      "console=ttyS0 panic=-1 tskata.root=/dev/vda tskata.channel=serial tskata.port=agent.0 tskata.sharefs=virtiofs:tskata tskata.time=1795306957762 quiet tskata.rootfstype=ext4",
      ...["-drive", "file=/g/rootfs.img,if=none,id=rootfs,format=raw,readonly=on,cache.direct=off"],
      ...["-device", "virtio-blk-pci,drive=rootfs,id=rootdisk"],
      ...["-device", "virtio-serial-pci,id=serial0"],
      ...["-chardev", `socket,id=agent,path=${D}/agent.sock,server=on,wait=off`],
      ...["-device", "virtserialport,bus=serial0.0,chardev=agent,name=agent.0"],
      ...["-chardev", `socket,id=vfs,path=${D}/virtiofsd.sock`],
      ...["-device", "vhost-user-fs-pci,chardev=vfs,tag=tskata,queue-size=1024"],
      ...["-chardev", `file,id=console,path=${D}/console.log`, "-serial", "chardev:console"],
      ...[
        "-chardev",
        `socket,id=qmp,path=${D}/qmp.sock,server=on,wait=off`,
        "-mon",
        "chardev=qmp,mode=control",
      ],
    ]);
  });

  it("has no -daemonize or -pidfile: the shim supervises QEMU as its child", () => {
    const line = renderCommandLine(plan());
    expect(line).not.toContain("-daemonize");
    expect(line).not.toContain("-pidfile");
  });

  it("9p needs no shared memory backend", () => {
    const line = renderCommandLine(
      plan({ sharedFs: { kind: "virtio-9p", directory: `${D}/shared`, tag: "tskata" } }),
    );
    expect(line).toContain("q35");
    expect(line).not.toContain("-object");
    expect(line.join(" ")).toContain(
      `-fsdev local,id=fs9p,path=${D}/shared,security_model=none,multidevs=remap -device virtio-9p-pci,fsdev=fs9p,mount_tag=tskata`,
    );
    expect(line.join(" ")).toContain("tskata.sharefs=9p:tskata");
  });

  it("microvm uses virtio-mmio device names", () => {
    const line = renderCommandLine(
      plan({ machineType: "microvm", tscKhz: 2100000, channel: { kind: "vsock", guestCid: 7, port: 1024 } }),
    );
    const text = line.join(" ");
    expect(text).toContain(
      "-machine microvm,x-option-roms=off,rtc=on,isa-serial=on,pit=on,pic=on,memory-backend=mem -global virtio-mmio.force-legacy=false",
    );
    expect(text).toContain("virtio-blk-device,drive=rootfs");
    expect(text).toContain("vhost-vsock-device,id=vsock0,guest-cid=7");
    expect(text).toContain("vhost-user-fs-device,chardev=vfs");
    expect(text).toContain("tskata.channel=vsock tskata.vsock_port=1024");
    expect(text).toContain("reboot=t tsc_early_khz=2100000");
  });

  it("initrd-only boot has -initrd and no disk", () => {
    const line = renderCommandLine(plan({ image: undefined, initrd: "/g/initrd.img" }));
    expect(line.join(" ")).toContain("-kernel /g/vmlinuz -initrd /g/initrd.img -append");
    expect(line).not.toContain("-drive");
  });

  it("kernel params: runtime's first, configured last", () => {
    expect(kernelParams(plan({ kernelParams: "  a=1   b " }))).toEqual([
      "console=ttyS0",
      "panic=-1",
      "tskata.root=/dev/vda",
      "tskata.channel=serial",
      "tskata.port=agent.0",
      "tskata.sharefs=virtiofs:tskata",
      "tskata.time=1795306957762",
      "a=1",
      "b",
    ]);
  });
});

describe("root image as virtio-pmem (DAX)", () => {
  const pmem = (o: Partial<VmPlan> = {}) =>
    plan({ image: { device: "pmem", path: "/g/root,fs.img", sizeBytes: 128 * 1048576 }, ...o });
  it("maps the image read-only and shared as virtio-pmem-pci, with no virtio-blk disk", () => {
    const line = renderCommandLine(pmem());
    const text = line.join(" ");
    expect(text).toContain(
      "-object memory-backend-file,id=rootimg,mem-path=/g/root,,fs.img,size=134217728,share=on,readonly=on,align=2097152 -device virtio-pmem-pci,memdev=rootimg,id=rootpmem",
    );
    expect(line).not.toContain("-drive");
    expect(text).not.toContain("virtio-blk");
  });
  it("tells the guest's init to mount /dev/pmem0 with DAX", () => {
    const params = kernelParams(pmem());
    expect(params).toContain("tskata.root=/dev/pmem0");
    expect(params).toContain("tskata.rootflags=dax");
    expect(params).not.toContain("tskata.root=/dev/vda");
  });
  it("adds the pmem region to maxmem on top of the hotplug ceiling", () => {
    const grow = renderCommandLine(pmem({ memoryMib: 512, maxMemoryMib: 2048 }));
    expect(grow[grow.indexOf("-m") + 1]).toBe("512M,slots=8,maxmem=2176M");
    const fixed = renderCommandLine(pmem({ memoryMib: 512, maxMemoryMib: 512 }));
    expect(fixed[fixed.indexOf("-m") + 1]).toBe("512M,slots=8,maxmem=640M");
  });
  it("rounds a region up to whole 128 MiB steps (the guest's memory block)", () => {
    expect(pmemRegionMib(128 * 1048576)).toBe(128);
    expect(pmemRegionMib(128 * 1048576 + 1)).toBe(256);
  });
});

describe("room to grow (hotplug)", () => {
  it("renders -m slots/maxmem and -smp maxcpus when the plan has room", () => {
    const line = renderCommandLine(plan({ vcpus: 1, maxVcpus: 4, memoryMib: 512, maxMemoryMib: 2048 }));
    expect(line).toContain("1,maxcpus=4");
    expect(line.slice(line.indexOf("-m"), line.indexOf("-m") + 4)).toEqual([
      "-m",
      "512M,slots=8,maxmem=2048M",
      "-object",
      "memory-backend-memfd,id=mem,size=512M,share=on",
    ]);
  });
  it("guest kernel onlines hotplugged memory only when memory can grow", () => {
    expect(kernelParams(plan({ maxMemoryMib: 1024 }))).toContain("memhp_default_state=online");
    expect(kernelParams(plan()).join(" ")).not.toContain("memhp");
  });
  it("no growth room renders the plain -m and -smp", () => {
    expect(new MemoryArg(512, false, 512).render()).toEqual(["-m", "512M"]);
    expect(new CpuArg("", "tcg", 2, 2).render()).toEqual(["-cpu", "max", "-smp", "2"]);
  });
  it("the memory ceiling is the base plus whole 128 MiB steps under the limit", () => {
    expect(hotplugMaxMemoryMib(512, 2048)).toBe(2048);
    expect(hotplugMaxMemoryMib(512, 700)).toBe(640);
    expect(hotplugMaxMemoryMib(512, 600)).toBe(512);
    expect(hotplugMaxMemoryMib(1024, 512)).toBe(1024);
    expect(hotplugMaxMemoryMib(500, 24_105)).toBe(500 + 184 * 128);
  });
});

describe("QEMU arg objects", () => {
  it("accel", () => {
    expect(new AccelArg("kvm").render()).toEqual(["-accel", "kvm"]);
    expect(new AccelArg("tcg").render()).toEqual(["-accel", "tcg,thread=multi"]);
    expect(new AccelArg("tcg", 64).render()).toEqual(["-accel", "tcg,thread=multi,tb-size=64"]);
    expect(new AccelArg("kvm", 64).render()).toEqual(["-accel", "kvm"]);
  });
  it("cpu model defaults per accelerator, explicit model wins", () => {
    expect(new CpuArg("", "kvm", 1).render()).toEqual(["-cpu", "host", "-smp", "1"]);
    expect(new CpuArg("", "tcg", 4).render()).toEqual(["-cpu", "max", "-smp", "4"]);
    expect(new CpuArg("qemu64", "kvm", 1).render()).toEqual(["-cpu", "qemu64", "-smp", "1"]);
  });
  it("memory: plain, or shared memfd with its backend id", () => {
    expect(new MemoryArg(256, false).render()).toEqual(["-m", "256M"]);
    expect(new MemoryArg(256, false).backendId).toBeUndefined();
    const shared = new MemoryArg(1024, true);
    expect(shared.render()).toEqual([
      "-m",
      "1024M",
      "-object",
      "memory-backend-memfd,id=mem,size=1024M,share=on",
    ]);
    expect(new MachineArg("pc", shared.backendId).render()).toEqual(["-machine", "pc,memory-backend=mem"]);
  });
  it("escapes commas in paths", () => {
    expect(optValue("/a,b")).toBe("/a,,b");
    expect(new RootDiskArg("/x,y.img", "qcow2", "pci").render()[1]).toBe(
      "file=/x,,y.img,if=none,id=rootfs,format=qcow2,readonly=on,cache.direct=off",
    );
    expect(new VirtioSerialChannelArg("/s,1/a.sock", "agent.0", "pci").render()[3]).toBe(
      "socket,id=agent,path=/s,,1/a.sock,server=on,wait=off",
    );
    expect(new VirtioFsArg("/v,s", "t", "mmio").render()[1]).toBe("socket,id=vfs,path=/v,,s");
    expect(new Virtio9pArg("/d,x", "t").render()[1]).toContain("path=/d,,x");
  });
  it("balloon with free page reporting, only when asked", () => {
    expect(renderCommandLine(plan()).join(" ")).not.toContain("balloon");
    expect(renderCommandLine(plan({ freePageReporting: true })).join(" ")).toContain(
      "-device virtio-balloon-pci,id=balloon0,free-page-reporting=on,deflate-on-oom=on -chardev file,id=console",
    );
  });
  it("vsock with a guest CID", () => {
    expect(new VsockDeviceArg(1234, "pci").render()).toEqual([
      "-device",
      "vhost-vsock-pci,id=vsock0,guest-cid=1234",
    ]);
  });
});
