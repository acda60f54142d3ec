/**
 * Development tool: boots the built guest image (see dev-vm.ts), reaches the agent over
 * virtio-serial with ttrpc (Health.Check, Health.Version, a second connection), powers it off
 * with DestroySandbox, and prints timings as JSON.
 *
 *   node --import tsx guest-image/tools/boot-vm.ts [--image build/guest] [--machine q35|microvm]
 *     [--memory 512] [--append "..."] [--stop destroy|powerbutton] [--print-console]
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { Agent } from "../../protocol/generated/tskata/agent/v1/agent_pb.js";
import { CheckResponse_ServingStatus, Health } from "../../protocol/generated/tskata/agent/v1/health_pb.js";
import { createClient } from "../../protocol/ttrpc/service.js";
import { DevVm } from "./dev-vm.js";

const { values: opts } = parseArgs({
  options: {
    image: { type: "string", default: "build/guest" },
    machine: { type: "string", default: "q35" },
    accel: { type: "string", default: "tcg" },
    memory: { type: "string", default: "512" },
    append: { type: "string", default: "" },
    "timeout-ms": { type: "string", default: "120000" },
    "print-console": { type: "boolean", default: false },
    /** destroy: DestroySandbox{poweroff}; powerbutton: QMP system_powerdown */
    stop: { type: "string", default: "destroy" },
  },
});

function smaps(pid: number | undefined): { pssKiB?: number; rssKiB?: number } {
  if (pid === undefined) return {};
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    return {
      pssKiB: Number(/^Pss:\s+(\d+) kB/m.exec(text)?.[1]),
      rssKiB: Number(/^Rss:\s+(\d+) kB/m.exec(text)?.[1]),
    };
  } catch {
    return {};
  }
}

async function main(vm: DevVm): Promise<void> {
  const { client, socket } = await vm.connect();
  const health = createClient(client, Health);
  const check = await health.check({}, { timeoutMs: Number(opts["timeout-ms"]) });
  const firstCheckWallMs = Math.round(performance.now() - vm.qemuStartedAt!);
  if (check.status !== CheckResponse_ServingStatus.SERVING) throw new Error(`agent status ${check.status}`);
  const { $typeName: _, ...version } = await health.version({});
  client.close();
  socket.destroy();

  // a second connection: the agent takes the host back after a disconnect
  await new Promise((r) => setTimeout(r, 100));
  const second = await vm.connect();
  const t2 = performance.now();
  await createClient(second.client, Health).check({}, { timeoutMs: 10_000 });
  const reconnectCheckMs = Math.round(performance.now() - t2);
  const memory = smaps(vm.qemuPid());

  const tStop = performance.now();
  if (opts.stop === "powerbutton") await vm.powerButton();
  else await createClient(second.client, Agent).destroySandbox({ poweroff: true }, { timeoutMs: 10_000 });
  const code = await Promise.race([vm.exited, new Promise((r) => setTimeout(() => r("timeout"), 20_000))]);
  const poweroffMs = Math.round(performance.now() - tStop);
  second.client.close();
  second.socket.destroy();

  const records = vm.agentRecords();
  const at = (msg: string) => records.find((r) => r["msg"] === msg)?.["uptime"];
  const result = {
    machine: opts.machine,
    accel: opts.accel,
    firstCheckWallMs,
    guestUptime: { agentStarting: at("agent starting"), agentListening: at("agent listening") },
    reconnectCheckMs,
    stop: opts.stop,
    poweroffMs,
    qemuExit: code,
    qemu: memory,
    version,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

const vm = new DevVm({
  lockFile: "/tmp/tskata-vm.lock",
  image: resolve(opts.image!),
  machine: opts.machine === "microvm" ? "microvm" : "q35",
  accel: opts.accel!,
  memoryMiB: Number(opts.memory),
  append: opts.append!,
});
main(vm)
  .catch((err: unknown) => {
    process.stderr.write(`boot-vm failed: ${(err as Error).message}\n--- console ---\n`);
    process.stderr.write(`${vm.consoleLines().slice(-40).join("\n")}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    if (opts["print-console"]) process.stderr.write(`--- console ---\n${vm.consoleLines().join("\n")}\n`);
    await vm.stop();
  });
