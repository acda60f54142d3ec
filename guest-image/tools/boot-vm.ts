/**
 * Development tool: boots the built guest image under QEMU with a plain command line, reaches the
 * agent over virtio-serial with ttrpc (Health.Check, Health.Version), optionally powers it off
 * with DestroySandbox, and prints timings as JSON. The real launcher is shim/hypervisor; this
 * exists to measure and debug the guest image on its own.
 *
 *   flock /tmp/tskata-vm.lock node --import tsx guest-image/tools/boot-vm.ts \
 *     [--image build/guest] [--machine q35|microvm] [--accel tcg] [--memory 512] [--keep] [--append "..."]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Agent } from "../../protocol/generated/tskata/agent/v1/agent_pb.js";
import { CheckResponse_ServingStatus, Health } from "../../protocol/generated/tskata/agent/v1/health_pb.js";
import { Client } from "../../protocol/ttrpc/client.js";
import { createClient } from "../../protocol/ttrpc/service.js";
import type { Manifest } from "../manifest.js";

const { values: opts } = parseArgs({
  options: {
    image: { type: "string", default: "build/guest" },
    machine: { type: "string", default: "q35" },
    accel: { type: "string", default: "tcg" },
    memory: { type: "string", default: "512" },
    append: { type: "string", default: "" },
    keep: { type: "boolean", default: false },
    "timeout-ms": { type: "string", default: "60000" },
    "print-console": { type: "boolean", default: false },
  },
});

const image = resolve(opts.image!);
const manifest = JSON.parse(readFileSync(join(image, "manifest.json"), "utf8")) as Manifest;
const dir = mkdtempSync(join(tmpdir(), "tskata-boot-"));
const agentSock = join(dir, "agent.sock");
const consoleLog = join(dir, "console.log");
const microvm = opts.machine === "microvm";
const bus = microvm ? "device" : "pci";

const cmdline = [
  manifest.kernelCmdline,
  `tskata.time=${Date.now()}`,
  "tskata.hostname=tskata-vm",
  microvm ? "tskata.root=/dev/vda" : "",
  opts.append,
]
  .filter((s) => s)
  .join(" ");

const args = [
  "-nodefaults",
  "-no-user-config",
  "-nographic",
  "-no-reboot",
  "-machine",
  microvm ? "microvm,rtc=on,isa-serial=on" : "q35",
  "-accel",
  opts.accel!,
  "-cpu",
  "max",
  "-smp",
  "1",
  "-m",
  opts.memory!,
  "-kernel",
  join(image, manifest.artifacts["kernel"]!.file),
  "-initrd",
  join(image, manifest.artifacts["initramfs"]!.file),
  "-append",
  cmdline,
  "-drive",
  `file=${join(image, manifest.artifacts["rootfs"]!.file)},if=none,id=root,readonly=on,format=raw`,
  "-device",
  `virtio-blk-${bus},drive=root`,
  "-device",
  `virtio-serial-${bus}`,
  "-chardev",
  `socket,id=agent,path=${agentSock},server=on,wait=off`,
  "-device",
  "virtserialport,chardev=agent,name=agent.0",
  "-serial",
  `file:${consoleLog}`,
];

const t0 = performance.now();
const qemu = spawn("qemu-system-x86_64", args, { stdio: ["ignore", "inherit", "inherit"] });
const exited = new Promise<number | null>((r) => qemu.on("exit", (code) => r(code)));
let qemuGone = false;
void exited.then(() => {
  qemuGone = true;
});

async function connect(): Promise<net.Socket> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await new Promise<net.Socket>((res, rej) => {
        const s = net.connect(agentSock, () => res(s));
        s.once("error", rej);
      });
    } catch (err) {
      if (Date.now() > deadline || qemuGone) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

function guestLines(): string[] {
  try {
    return readFileSync(consoleLog, "utf8").split("\n");
  } catch {
    return [];
  }
}

async function main(): Promise<void> {
  const socket = await connect();
  const tConnected = performance.now() - t0;
  const client = new Client(socket);
  const health = createClient(client, Health);
  const check = await health.check({}, { timeoutMs: Number(opts["timeout-ms"]) });
  const tCheck = performance.now() - t0;
  if (check.status !== CheckResponse_ServingStatus.SERVING) throw new Error(`agent status ${check.status}`);
  const version = await health.version({});
  const result: Record<string, unknown> = {
    machine: opts.machine,
    accel: opts.accel,
    format: manifest.format,
    hostConnectedMs: Math.round(tConnected),
    firstCheckWallMs: Math.round(tCheck),
    version,
  };
  // a second connection proves the agent takes the host back after a disconnect
  client.close();
  socket.destroy();
  await new Promise((r) => setTimeout(r, 200));
  const socket2 = await connect();
  const client2 = new Client(socket2);
  const health2 = createClient(client2, Health);
  const t2 = performance.now();
  await health2.check({}, { timeoutMs: 10_000 });
  result["reconnectCheckMs"] = Math.round(performance.now() - t2);
  try {
    const status = readFileSync(`/proc/${qemu.pid}/smaps_rollup`, "utf8");
    const pss = /^Pss:\s+(\d+) kB/m.exec(status);
    const rss = /^Rss:\s+(\d+) kB/m.exec(status);
    result["qemuPssKiB"] = pss ? Number(pss[1]) : undefined;
    result["qemuRssKiB"] = rss ? Number(rss[1]) : undefined;
  } catch {
    // not readable: skip
  }
  if (!opts.keep) {
    const agent = createClient(client2, Agent);
    const tStop = performance.now();
    await agent.destroySandbox({ poweroff: true }, { timeoutMs: 10_000 });
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r("timeout"), 20_000))]);
    result["poweroffMs"] = Math.round(performance.now() - tStop);
    result["qemuExit"] = code;
  }
  client2.close();
  socket2.destroy();
  result["agentLog"] = guestLines()
    .filter((l) => l.includes('"component":"agent"'))
    .map((l) => {
      const j = JSON.parse(l.slice(l.indexOf("{"))) as { msg: string; uptime?: number };
      return `${j.uptime ?? ""} ${j.msg}`;
    });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main()
  .catch((err: unknown) => {
    process.stderr.write(
      `boot-vm failed: ${(err as Error).message}\n--- console ---\n${guestLines().slice(-40).join("\n")}\n`,
    );
    process.exitCode = 1;
  })
  .finally(() => {
    if (opts["print-console"]) process.stderr.write(`--- console ---\n${guestLines().join("\n")}\n`);
    if (!qemuGone && !opts.keep) qemu.kill("SIGKILL");
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
    else process.stderr.write(`kept ${dir} (qemu pid ${qemu.pid})\n`);
  });
