/**
 * NIC hotplug on the host, with a real QEMU that never runs a guest (q35 started paused, -S, with
 * the warm pool's NIC root ports): a tap made in another netns is opened there and its fd passed
 * to QEMU over QMP (SCM_RIGHTS), then plugged as a tap netdev + virtio-net-pci on a free root
 * port; QEMU then holds that very tap. A pod with more interfaces than free ports, or a tap that
 * cannot be opened, changes nothing.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomInt } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTapInNetns } from "../../native/tap.js";
import { HypervisorError, QmpCommandError } from "../../shim/hypervisor/errors.js";
import { NicHotplugPortsArg } from "../../shim/hypervisor/qemu/args/nic-ports.js";
import { plugNics, type QomProperty } from "../../shim/hypervisor/qemu/nic-hotplug.js";
import { QmpClient } from "../../shim/hypervisor/qemu/qmp.js";

const suffix = `${process.pid % 10000}${randomInt(100, 999)}`;
const nsName = `tsktest-nh${suffix}`;
const netnsPath = `/var/run/netns/${nsName}`;
const TAP = "tsktap0";
const MAC = "0a:58:0a:de:00:07";
const dir = mkdtempSync(join(tmpdir(), "tskata-nichp-"));
const qmpPath = join(dir, "qmp.sock");
let qemu: ChildProcess;
let qmp: QmpClient;

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: "utf8", stdio: "pipe" });

/** The tap names behind a process's open tun files (/proc/PID/fdinfo `iff:`). */
function tunFilesOf(pid: number | "self"): string[] {
  const out: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    const info = (() => {
      try {
        return readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8");
      } catch {
        return "";
      }
    })();
    const iff = /^iff:\s*(\S+)/m.exec(info)?.[1];
    if (iff) out.push(iff);
  }
  return out;
}

beforeAll(async () => {
  sh("ip", ["netns", "add", nsName]);
  sh("ip", ["netns", "exec", nsName, "ip", "tuntap", "add", "dev", TAP, "mode", "tap"]);
  qemu = spawn(
    "qemu-system-x86_64",
    [
      "-machine",
      "q35",
      "-accel",
      "tcg",
      "-S",
      "-nodefaults",
      "-nographic",
      "-m",
      "64",
      ...new NicHotplugPortsArg(2).render(),
      "-qmp",
      `unix:${qmpPath},server=on,wait=off`,
    ],
    { stdio: "ignore" },
  );
  qmp = await QmpClient.connect(qmpPath, { timeoutMs: 10_000, fdPassing: true });
});

afterAll(async () => {
  qmp?.destroy();
  if (qemu?.exitCode === null) {
    const gone = new Promise((r) => qemu.once("exit", r));
    qemu.kill("SIGKILL");
    await gone;
  }
  sh("ip", ["netns", "del", nsName]);
  rmSync(dir, { recursive: true, force: true });
});

describe("opening a tap of another netns", () => {
  it("gives an fd attached to that netns's tap, and makes nothing in this one", () => {
    const fd = openTapInNetns(netnsPath, TAP);
    try {
      expect(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8")).toMatch(new RegExp(`^iff:\\s*${TAP}$`, "m"));
    } finally {
      closeSync(fd);
    }
    expect(() => sh("ip", ["link", "show", "dev", TAP])).toThrow();
  });

  it("refuses a bad tap name before any system call, naming it", () => {
    expect(() => openTapInNetns(netnsPath, "x".repeat(16))).toThrow(/tap name must be 1-15 bytes/);
  });
});

describe("QMP fd passing", () => {
  it("getfd takes the fd sent with the command; without one QEMU refuses", async () => {
    const fd = openSync("/dev/null", "r");
    try {
      await qmp.getFd("probe", fd);
    } finally {
      closeSync(fd);
    }
    // QEMU held it under its name: the first closefd finds it, the second does not
    await qmp.closeFd("probe");
    await expect(qmp.closeFd("probe")).rejects.toThrow(/not found/);
    await expect(qmp.execute("getfd", { fdname: "nofd" })).rejects.toThrow(
      /No file descriptor supplied via SCM_RIGHTS/,
    );
  });
});

describe("plugNics", () => {
  const net = { netnsPath, nics: [{ tapName: TAP, mac: MAC, mtu: 1400 }] };

  it("refuses more interfaces than free root ports, plugging nothing", async () => {
    const three = { netnsPath, nics: [0, 1, 2].map((i) => ({ tapName: TAP, mac: MAC, mtu: 1400 + i })) };
    const err = await plugNics("s1", qmp, "q35", three).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HypervisorError);
    expect((err as HypervisorError).code).toBe("HYPERVISOR_HOTPLUG_FAILED");
    expect((err as Error).message).toMatch(/3 interfaces, the VM 2 free NIC root ports/);
    expect(tunFilesOf(qemu.pid!)).toEqual([]);
  });

  it("a tap that cannot be opened fails naming it, and leaves nothing plugged", async () => {
    const gone = { netnsPath: `${netnsPath}-missing`, nics: net.nics };
    await expect(plugNics("s1", qmp, "q35", gone)).rejects.toThrow(/opening tsktap0 in .*-missing/);
    const peripherals = await qmp.execute<QomProperty[]>("qom-list", { path: "/machine/peripheral" });
    expect(peripherals.map((p) => p.name)).not.toContain("tsknic0");
  });

  it("plugs the netns's tap into QEMU as a virtio-net-pci with the pod's MAC on the first free port", async () => {
    await plugNics("s1", qmp, "q35", net);
    expect(tunFilesOf(qemu.pid!)).toEqual([TAP]);
    const peripherals = await qmp.execute<QomProperty[]>("qom-list", { path: "/machine/peripheral" });
    expect(peripherals).toContainEqual({ name: "tsknic0", type: "child<virtio-net-pci>" });
    const mac = await qmp.execute<string>("qom-get", {
      path: "/machine/peripheral/tsknic0",
      property: "mac",
    });
    expect(mac).toBe(MAC);
    const bus = await qmp.execute<string>("qom-get", {
      path: "/machine/peripheral/tsknic0",
      property: "parent_bus",
    });
    expect(bus).toContain("tsknicport0");
    // a second open of the same single-queue tap is refused (QEMU holds it), and nothing is plugged
    const again = await plugNics("s1", qmp, "q35", {
      netnsPath,
      nics: [{ tapName: TAP, mac: "0a:58:0a:de:00:08", mtu: 1400 }],
    }).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(HypervisorError);
    expect(String(again)).toMatch(/EBUSY|busy/i);
    expect(again).not.toBeInstanceOf(QmpCommandError);
  });
});
