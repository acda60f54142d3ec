/**
 * A guest booted from the built image with a plain QEMU command line, for measuring and testing
 * the image and the agent on their own (the product path is shim/hypervisor). With `lockFile`
 * (the boot tool passes /tmp/tskata-vm.lock) QEMU runs under flock, so two VMs started by hand
 * never share this machine's two cores.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "../../protocol/ttrpc/client.js";
import type { Manifest } from "../manifest.js";

export interface DevVmOptions {
  /** Directory holding manifest.json and the artifacts (build/guest). */
  image: string;
  machine?: "q35" | "microvm";
  accel?: string;
  memoryMiB?: number;
  /** Extra kernel parameters. */
  append?: string;
  lockFile?: string;
}

/** The host CPU's clock in kHz (cpu MHz of /proc/cpuinfo), what TCG's TSC runs at. */
function hostTscKhz(): number {
  const mhz = /^cpu MHz\s*:\s*([\d.]+)/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
  return Math.round(Number(mhz?.[1] ?? "2000") * 1000);
}

export class DevVm {
  readonly dir: string;
  readonly agentSocket: string;
  readonly consoleLog: string;
  readonly qmpSocket: string;
  /** performance.now() when QEMU itself started (after flock got the lock). */
  qemuStartedAt: number | undefined;
  readonly exited: Promise<number | null>;
  private readonly proc: ChildProcess;
  private gone = false;

  constructor(opts: DevVmOptions) {
    const manifest = JSON.parse(readFileSync(join(opts.image, "manifest.json"), "utf8")) as Manifest;
    this.dir = mkdtempSync(join(tmpdir(), "tskata-devvm-"));
    this.agentSocket = join(this.dir, "agent.sock");
    this.consoleLog = join(this.dir, "console.log");
    this.qmpSocket = join(this.dir, "qmp.sock");
    const microvm = opts.machine === "microvm";
    const bus = microvm ? "device" : "pci";
    const artifact = (key: string) => join(opts.image, manifest.artifacts[key]!.file);
    const cmdline = [
      manifest.kernelCmdline,
      `tskata.time=${Date.now()}`,
      "tskata.hostname=tskata-vm",
      // microvm has no HPET/PM timer: under TCG the kernel's PIT calibration of the TSC fails
      // now and then and the boot hangs; tell it the frequency (as shim/hypervisor does)
      microvm ? `tsc_early_khz=${hostTscKhz()}` : "",
      opts.append ?? "",
    ]
      .filter((s) => s)
      .join(" ");
    const args = [
      "qemu-system-x86_64",
      "-nodefaults",
      "-no-user-config",
      "-nographic",
      "-no-reboot",
      "-machine",
      microvm ? "microvm,rtc=on,isa-serial=on,pit=on,pic=on" : "q35",
      "-accel",
      opts.accel ?? "tcg",
      "-cpu",
      "max",
      "-smp",
      "1",
      "-m",
      String(opts.memoryMiB ?? 512),
      "-kernel",
      artifact("kernel"),
      "-initrd",
      artifact("initramfs"),
      "-append",
      cmdline,
      "-drive",
      `file=${artifact("rootfs")},if=none,id=root,readonly=on,format=raw`,
      "-device",
      `virtio-blk-${bus},drive=root`,
      "-device",
      `virtio-serial-${bus}`,
      "-chardev",
      `socket,id=agent,path=${this.agentSocket},server=on,wait=off`,
      "-device",
      "virtserialport,chardev=agent,name=agent.0",
      "-serial",
      `file:${this.consoleLog}`,
      "-qmp",
      `unix:${this.qmpSocket},server=on,wait=off`,
    ];
    // its own process group, so that stop() reaches QEMU behind flock
    // The interactive tool takes the machine's VM lock; tests do not (their runner may hold it).
    const [cmd, argv] = opts.lockFile ? ["flock", [opts.lockFile, ...args]] : [args[0]!, args.slice(1)];
    this.proc = spawn(cmd, argv, { stdio: ["ignore", "ignore", "inherit"], detached: true });
    this.exited = new Promise((resolve) => this.proc.on("exit", (code) => resolve(code)));
    void this.exited.then(() => {
      this.gone = true;
    });
    const poll = setInterval(() => {
      if (this.gone || this.qemuPid() !== undefined) {
        this.qemuStartedAt ??= performance.now();
        clearInterval(poll);
      }
    }, 2);
  }

  get running(): boolean {
    return !this.gone;
  }

  /** PID of QEMU itself (flock's child), once it runs. */
  qemuPid(): number | undefined {
    try {
      const children = readFileSync(`/proc/${this.proc.pid}/task/${this.proc.pid}/children`, "utf8").trim();
      return children ? Number(children.split(" ")[0]) : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Connects to the agent channel's host socket (it appears once QEMU runs) and wraps it in a
   * ttrpc client. Waits up to `lockTimeoutMs` for the VM lock, then `timeoutMs` for the socket.
   */
  async connect(
    timeoutMs = 120_000,
    lockTimeoutMs = 900_000,
  ): Promise<{ client: Client; socket: net.Socket }> {
    const lockDeadline = Date.now() + lockTimeoutMs;
    let deadline: number | undefined;
    for (;;) {
      try {
        const socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(this.agentSocket, () => resolve(s));
          s.once("error", reject);
        });
        return { client: new Client(socket), socket };
      } catch (err) {
        if (this.qemuStartedAt !== undefined) deadline ??= Date.now() + timeoutMs;
        if (this.gone || Date.now() > (deadline ?? lockDeadline)) throw err;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  }

  /** Presses the VM's ACPI power button (QMP system_powerdown). */
  async powerButton(): Promise<void> {
    const socket = net.connect(this.qmpSocket);
    let buffered = "";
    const replies: string[] = [];
    let wake: (() => void) | undefined;
    socket.on("data", (d: Buffer) => {
      buffered += d.toString("utf8");
      let nl = buffered.indexOf("\n");
      while (nl >= 0) {
        replies.push(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf("\n");
      }
      wake?.();
    });
    const next = async (): Promise<string> => {
      while (replies.length === 0) await new Promise<void>((r) => (wake = r));
      return replies.shift()!;
    };
    await next(); // greeting
    for (const command of ["qmp_capabilities", "system_powerdown"]) {
      socket.write(`${JSON.stringify({ execute: command })}\n`);
      let reply = await next();
      while (reply.includes('"event"')) reply = await next();
      if (!reply.includes('"return"')) throw new Error(`QMP ${command}: ${reply}`);
    }
    socket.destroy();
  }

  consoleLines(): string[] {
    try {
      return readFileSync(this.consoleLog, "utf8").split("\n");
    } catch {
      return [];
    }
  }

  /** The agent's JSON log records from the console. */
  agentRecords(): Record<string, unknown>[] {
    return this.consoleLines()
      .filter((l) => l.includes('"component":"agent"'))
      .map((l) => JSON.parse(l.slice(l.indexOf("{"))) as Record<string, unknown>);
  }

  /** Kills QEMU if it still runs, waits for it, and removes the temp dir. */
  async stop(): Promise<void> {
    if (!this.gone && this.proc.pid !== undefined) {
      try {
        process.kill(-this.proc.pid, "SIGKILL");
      } catch {
        // already gone
      }
      await this.exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
