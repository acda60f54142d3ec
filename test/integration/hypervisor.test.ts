/**
 * The hypervisor layer against real QEMU under TCG (this host's KVM is broken; `auto` must
 * notice). Boots the tiny test guest (test/fixtures/tiny-guest.ts): two VMs in all, plus the
 * KVM probe once (cached in the state dir for the rest of the file).
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Duplex } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../shim/config/errors.js";
import { parseConfig } from "../../shim/config/load.js";
import type { TskataConfig } from "../../shim/config/types.js";
import { probeKvm } from "../../shim/hypervisor/accel-probe.js";
import { HypervisorError, KvmUnusableError, VmDeadError } from "../../shim/hypervisor/errors.js";
import type { StopOptions } from "../../shim/hypervisor/hypervisor.js";
import { QemuHypervisor } from "../../shim/hypervisor/qemu/qemu-hypervisor.js";
import type { QemuVm } from "../../shim/hypervisor/qemu/qemu-vm.js";
import { cleanupSandbox } from "../../shim/hypervisor/sandbox-resources.js";
import { ensureTinyGuest, type TinyGuest } from "../fixtures/tiny-guest.js";
import { processAlive } from "../support/leftovers.js";

let guest: TinyGuest;
let stateDir: string;
const logLines: string[] = [];
const log = pino({ level: "info" }, { write: (s: string) => void logLines.push(s) });

function config(extra = "", accel = "auto"): TskataConfig {
  return parseConfig(
    `[hypervisor]\nkernel = "${guest.kernel}"\ninitrd = "${guest.initrd}"\naccel = "${accel}"\nmemory_mib = 256\n${extra}\n` +
      `[runtime]\nstate_dir = "${stateDir}"\n`,
  );
}

/** Our direct children (QEMU, virtiofsd are spawned by this process). */
function childPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === process.pid && fields[0] !== "Z") pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function sandboxes(): string[] {
  try {
    return readdirSync(join(stateDir, "sandboxes"));
  } catch {
    return [];
  }
}

/** Line protocol of the tiny guest over the agent channel. */
class GuestLine {
  private readonly lines: string[] = [];
  private waiters: (() => void)[] = [];
  constructor(readonly stream: Duplex) {
    stream.on("error", () => {}); // the VM going away resets the channel; tests look at the VM
    createInterface({ input: stream }).on("line", (l) => {
      this.lines.push(l);
      for (const w of this.waiters.splice(0)) w();
    });
  }
  async request(cmd: string, until: string, timeoutMs: number, repeatMs = 0): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    this.lines.length = 0;
    for (;;) {
      this.stream.write(`${cmd}\n`);
      const wait = repeatMs || Math.max(0, deadline - Date.now());
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, wait);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
      const i = this.lines.indexOf(until);
      if (i !== -1) return this.lines.slice(0, i + 1);
      if (Date.now() > deadline)
        throw new Error(`no ${until} for ${cmd} within ${timeoutMs} ms: ${this.lines}`);
      if (this.lines.length > 0 && !repeatMs) continue;
    }
  }
}

async function bootAndConnect(hv: QemuHypervisor, id: string) {
  const t0 = performance.now();
  const vm = await hv.start({ sandboxId: id });
  const startMs = performance.now() - t0;
  const channel = new GuestLine(await vm.agent.connect({ timeoutMs: 60_000 }));
  await channel.request("ping", "pong", 90_000, 200);
  return { vm, channel, startMs, bootMs: performance.now() - t0 };
}

beforeAll(async () => {
  guest = ensureTinyGuest();
  stateDir = await mkdtemp(join(tmpdir(), "tskata-hv-"));
});
afterAll(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

describe("configuration and accelerator failures start nothing", () => {
  it("bad configuration: ConfigError naming the key, no process spawned", () => {
    const before = childPids();
    let err: unknown;
    try {
      parseConfig(
        `[hypervisor]\nkernel = "${guest.kernel}"\nmemory_mib = 0\nmachine_type = "virt"\n[runtime]\nstate_dir = "${stateDir}"`,
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain("hypervisor.memory_mib: must be >= 64, got 0");
    expect((err as Error).message).toContain(
      'hypervisor.machine_type: must be one of "q35", "microvm", "pc", got "virt"',
    );
    expect(() => parseConfig('[hypervisor]\nkernel = "/nonexistent/vmlinuz"')).toThrow(
      "hypervisor.kernel: file not found: /nonexistent/vmlinuz",
    );
    expect(childPids()).toEqual(before);
    expect(sandboxes()).toEqual([]);
  });

  it("accel = kvm on a host whose KVM cannot run a guest fails with the probe's evidence; auto falls back", async () => {
    const probe = await probeKvm({
      qemuPath: "/usr/bin/qemu-system-x86_64",
      kernel: guest.kernel,
      machineType: "q35",
      timeoutMs: 5000,
      stateDir,
    });
    console.log(`KVM probe: usable=${probe.usable} in ${probe.elapsedMs} ms (cached: ${probe.cached})`);
    if (probe.usable) return; // a host with working KVM: nothing to refuse
    // Two unusable states occur on machines of this kind: /dev/kvm absent (a device check, not
    // cached: it costs nothing) and present-but-broken (a bounded boot probe, cached per boot).
    const absent = probe.method === "device check";
    const again = await probeKvm({
      qemuPath: "/usr/bin/qemu-system-x86_64",
      kernel: guest.kernel,
      machineType: "q35",
      timeoutMs: 5000,
      stateDir,
    });
    expect(again.cached).toBe(!absent);

    const before = childPids();
    const t0 = performance.now();
    const err = await new QemuHypervisor(config("", "kvm"), log)
      .start({ sandboxId: "kvm" })
      .catch((e: unknown) => e);
    const ms = performance.now() - t0;
    console.log(`accel=kvm refused in ${ms.toFixed(0)} ms (probe cached)`);
    expect(err).toBeInstanceOf(KvmUnusableError);
    expect((err as HypervisorError).code).toBe("KVM_UNUSABLE");
    expect((err as Error).message).toMatch(
      absent
        ? /^hypervisor.accel = "kvm" but KVM cannot run a guest on this host: \/dev\/kvm does not exist/
        : /^hypervisor.accel = "kvm" but KVM cannot run a guest on this host: a probe guest .* did not finish booting under KVM within 5000 ms/,
    );
    expect(ms).toBeLessThan(1000);
    expect(childPids()).toEqual(before);
    expect(sandboxes()).toEqual([]);
  });

  it("agent_transport = vsock without /dev/vhost-vsock: refused before anything starts", async () => {
    if (existsSync("/dev/vhost-vsock")) return;
    const before = childPids();
    const err = await new QemuHypervisor(config('agent_transport = "vsock"', "tcg"), log)
      .start({ sandboxId: "vsock" })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: "AGENT_CHANNEL_UNAVAILABLE",
      message:
        'hypervisor.agent_transport = "vsock" but vsock is unusable: /dev/vhost-vsock does not exist (vhost_vsock module not loaded)',
    });
    expect(childPids()).toEqual(before);
    expect(sandboxes()).toEqual([]);
  });

  it("virtio-9p (forced, or auto without virtiofsd): QEMU serves the share itself, no virtiofsd", async () => {
    // The guest has not booted far enough to power off: this exercises the quit paths: no wait,
    // a poweroff request that never answers (it must not hold the stop), and one that answers
    // with quitAfterRequest (QEMU quits at once, the 60 s bound is not waited for).
    const cases: { extra: string; stop: StopOptions; reason: string }[] = [
      {
        extra: 'shared_fs = "virtio-9p"',
        stop: { timeoutMs: 0 },
        reason: "stopped by QMP quit after 0 ms without guest poweroff",
      },
      {
        extra: 'virtiofsd_path = "/nonexistent/virtiofsd"',
        stop: { timeoutMs: 300, requestPoweroff: () => new Promise<void>(() => {}) },
        reason: "stopped by QMP quit after 300 ms without guest poweroff",
      },
      {
        extra: 'shared_fs = "virtio-9p"',
        stop: { timeoutMs: 60_000, requestPoweroff: async () => {}, quitAfterRequest: true },
        reason: "stopped by QMP quit once the guest answered the poweroff request",
      },
    ];
    for (const { extra, stop, reason } of cases) {
      const vm = await new QemuHypervisor(config(extra, "tcg"), log).start({ sandboxId: "ninep" });
      const record = JSON.parse(readFileSync(join(stateDir, "sandboxes", "ninep", "resources.json"), "utf8"));
      expect(record.processes.map((p: { role: string }) => p.role)).toEqual(["qemu"]);
      const cmdline = readFileSync(`/proc/${(vm as QemuVm).pid}/cmdline`, "utf8").split("\0");
      expect(cmdline).toContain("virtio-9p-pci,fsdev=fs9p,mount_tag=tskata");
      expect(cmdline.join(" ")).not.toContain("memory-backend-memfd");
      const t0 = performance.now();
      const exit = await vm.stop(stop);
      expect(exit.reason).toBe(reason);
      expect(performance.now() - t0).toBeLessThan(3000);
      expect(sandboxes()).toEqual([]);
    }
    expect(
      logLines.some((l) => l.includes("shared fs virtio-9p (virtiofsd /nonexistent/virtiofsd missing)")),
    ).toBe(true);
    expect(childPids()).toEqual([]);
  });

  it("a QEMU that fails during start leaves nothing behind (virtiofsd killed, dir removed)", async () => {
    const before = childPids();
    const err = await new QemuHypervisor(config('cpu_model = "no-such-cpu"', "tcg"), log)
      .start({ sandboxId: "badcpu" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HypervisorError);
    expect((err as HypervisorError).code).toBe("VM_START_FAILED");
    expect((err as Error).message).toMatch(/QEMU exited during start \(exit code 1\): .*no-such-cpu/);
    expect(childPids()).toEqual(before);
    expect(sandboxes()).toEqual([]);
  });
});

describe("a real VM under TCG", () => {
  it("boots with auto → TCG (one warning), answers over virtio-serial, shares files, stops gracefully, leaves nothing", async () => {
    const hv = new QemuHypervisor(config(), log);
    const { vm, channel, startMs, bootMs } = await bootAndConnect(hv, "vm1");
    const warnings = logLines.filter((l) => l.includes("falling back to TCG"));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!).level).toBe(40);
    expect(await vm.status()).toEqual({ running: true, status: "running" });

    const record = JSON.parse(readFileSync(join(stateDir, "sandboxes", "vm1", "resources.json"), "utf8"));
    const pids: number[] = record.processes.map((p: { pid: number }) => p.pid);
    expect(record.processes.map((p: { role: string }) => p.role).sort()).toEqual(["qemu", "virtiofsd"]);
    expect(pids.every(processAlive)).toBe(true);
    // QEMU runs in an empty network namespace of its own, never the host's: host OCI hooks that
    // configure /proc/PID/ns/net for the container's pid (QEMU's) cannot touch the host network
    const qemuPid = (vm as QemuVm).pid;
    expect(readlinkSync(`/proc/${qemuPid}/ns/net`)).not.toBe(readlinkSync("/proc/self/ns/net"));
    const links = readFileSync(`/proc/${qemuPid}/net/dev`, "utf8")
      .split("\n")
      .slice(2)
      .map((l) => l.split(":")[0]!.trim())
      .filter((n) => n !== "");
    expect(links).toEqual(["lo"]);

    writeFileSync(join(vm.sharedDir, "hello.txt"), "written on the host");
    expect(await channel.request("cat hello.txt", ".end", 10_000)).toContain("written on the host");

    const t0 = performance.now();
    const exit = await vm.stop();
    const stopMs = performance.now() - t0;
    console.log(
      `VM start (QMP running) ${startMs.toFixed(0)} ms, boot to agent channel answer ${bootMs.toFixed(0)} ms, graceful stop ${stopMs.toFixed(0)} ms`,
    );
    expect(exit).toMatchObject({ expected: true, reason: "stopped by guest poweroff", code: 0 });
    expect(exit.consoleTail).toContain("tiny-guest: power button");
    const guestLines = logLines
      .map((l) => JSON.parse(l))
      .filter((l) => l.source === "guest-console" && l.sandboxId === "vm1");
    expect(guestLines.some((l) => String(l.msg).startsWith("tiny-guest: ready at"))).toBe(true);
    expect(guestLines.every((l) => l.level === 30)).toBe(true);
    expect(vm.state.kind).toBe("stopped");
    expect(pids.some(processAlive)).toBe(false);
    expect(childPids()).toEqual([]);
    expect(sandboxes()).toEqual([]);
    await expect(vm.status()).rejects.toBeInstanceOf(VmDeadError);
    await expect(vm.agent.connect()).rejects.toBeInstanceOf(VmDeadError);
    expect(await vm.stop()).toBe(exit);
  }, 180_000);

  it("kill -9 of QEMU: reported dead within 2 s, callers get VmDeadError, everything cleaned", async () => {
    const hv = new QemuHypervisor(config(), log);
    const { vm } = await bootAndConnect(hv, "vm2");
    const record = JSON.parse(readFileSync(join(stateDir, "sandboxes", "vm2", "resources.json"), "utf8"));
    const pids: number[] = record.processes.map((p: { pid: number }) => p.pid);
    const qemuPid: number = (vm as QemuVm).pid;

    const pendingConnect = vm.agent.connect({ timeoutMs: 60_000 }).then(
      (d) => d.on("error", () => {}),
      (e: unknown) => e,
    );
    const t0 = performance.now();
    process.kill(qemuPid, "SIGKILL");
    while (vm.state.kind === "running") await new Promise((r) => setTimeout(r, 5));
    const deadMs = performance.now() - t0;
    expect(vm.state.kind).toBe("dead");
    await expect(vm.status()).rejects.toBeInstanceOf(VmDeadError);
    const exit = await vm.exited;
    const cleanMs = performance.now() - t0;
    console.log(`kill -9: dead after ${deadMs.toFixed(1)} ms, cleaned up after ${cleanMs.toFixed(0)} ms`);
    expect(deadMs).toBeLessThan(2000);
    expect(cleanMs).toBeLessThan(2000);
    expect(exit.expected).toBe(false);
    expect(exit.signal).toBe("SIGKILL");
    expect(exit.reason).toMatch(/QEMU exited unexpectedly \(signal SIGKILL\)|QMP connection lost/);
    // The connect started before the kill either got the (now closed) channel or a VmDeadError.
    const c = await pendingConnect;
    if (c instanceof Error) expect(c).toBeInstanceOf(VmDeadError);
    else (c as Duplex).destroy();
    await expect(vm.agent.connect()).rejects.toBeInstanceOf(VmDeadError);
    expect(pids.some(processAlive)).toBe(false);
    expect(childPids()).toEqual([]);
    expect(sandboxes()).toEqual([]);
    expect((await vm.stop()).expected).toBe(false);
  }, 180_000);

  it("virtiofsd killed under a running VM: the VM is declared dead, QEMU killed, all cleaned", async () => {
    const vm = await new QemuHypervisor(config(), log).start({ sandboxId: "vm3" });
    const record = JSON.parse(readFileSync(join(stateDir, "sandboxes", "vm3", "resources.json"), "utf8"));
    const virtiofsd = record.processes.find((p: { role: string }) => p.role === "virtiofsd").pid as number;
    process.kill(virtiofsd, "SIGKILL");
    const exit = await vm.exited;
    expect(exit.expected).toBe(false);
    expect(exit.reason).toMatch(/virtiofsd exited unexpectedly \(signal SIGKILL\)/);
    expect(processAlive((vm as QemuVm).pid)).toBe(false);
    expect(childPids()).toEqual([]);
    expect(sandboxes()).toEqual([]);
  }, 60_000);

  it("shim crash: a later cleanupSandbox (the `delete` path) kills what the record names", async () => {
    const configFile = join(stateDir, "crash.toml");
    writeFileSync(
      configFile,
      `[hypervisor]\nkernel = "${guest.kernel}"\ninitrd = "${guest.initrd}"\naccel = "tcg"\nmemory_mib = 256\n` +
        `[runtime]\nstate_dir = "${stateDir}"\n`,
    );
    const shim = spawn(
      process.execPath,
      ["--import", "tsx", join(import.meta.dirname, "../fixtures/start-vm.ts"), configFile, "crashed"],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const qemuPid = await new Promise<number>((resolve, reject) => {
      shim.stdout.setEncoding("utf8").on("data", (s: string) => {
        const m = /started (\d+)/.exec(s);
        if (m) resolve(Number(m[1]));
      });
      shim.once("exit", (code) => reject(new Error(`start-vm exited with ${code}`)));
    });
    const record = JSON.parse(readFileSync(join(stateDir, "sandboxes", "crashed", "resources.json"), "utf8"));
    const pids: number[] = record.processes.map((p: { pid: number }) => p.pid);
    expect(pids).toContain(qemuPid);
    shim.kill("SIGKILL");
    await new Promise((r) => shim.once("exit", r));
    expect(pids.every(processAlive)).toBe(true); // orphaned, as after a real shim crash

    const report = await cleanupSandbox(stateDir, "crashed");
    expect(report?.removedDir).toBe(true);
    expect(report?.processes.find((p) => p.role === "qemu")?.outcome).toMatch(/terminated|killed/);
    expect(pids.some(processAlive)).toBe(false);
    expect(sandboxes()).toEqual([]);
  }, 60_000);
});
