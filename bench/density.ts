/**
 * Host memory per idle pod at 1, 5 and 10 pods, with the root image on virtio-pmem (DAX, pages
 * shared through the host page cache) against virtio-blk (read into each guest's RAM). Pods are
 * booted with Sandbox.start (no containerd, no shim) one after another and left idle; at each
 * count the PSS of every QEMU and virtiofsd (with its children) is summed and divided by the
 * pods. The shim is not in that path: one idle shim's PSS is measured separately (a private
 * containerd, `ctr run -d`) and added per pod. Also shown: the image file's mapping in QEMU
 * (Rss vs Pss summed over the VMs: the page-cache pages the VMs share through DAX).
 *
 *   npm run bench:density [-- --pods 1,5,10 --devices pmem,blk --settle-ms 8000 --no-shim]
 *   extra hypervisor keys for the memory-defaults table: --set memory_mib=384 --set tcg_tb_size_mib=32
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { IMAGE, RUNTIME, startTskataContainerd } from "../cli/demo/tskata-containerd.js";
import { parseConfig } from "../shim/config/load.js";
import { Sandbox, standaloneSpec } from "../shim/sandbox/sandbox.js";
import { shimProcesses } from "../test/support/leftovers.js";
import { median, pssKiB } from "./peers/boot-floor.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : fallback;
}
function args(name: string): string[] {
  return process.argv.flatMap((a, i) => (a === name ? [process.argv[i + 1]!] : []));
}

const PODS = arg("--pods", "1,5,10")
  .split(",")
  .map(Number)
  .sort((a, b) => a - b);
const DEVICES = arg("--devices", "pmem,blk").split(",") as ("pmem" | "blk")[];
const SETTLE_MS = Number(arg("--settle-ms", "8000"));
const SETS = args("--set");
const WITH_SHIM = !process.argv.includes("--no-shim");

interface PodProcesses {
  qemu: number;
  helpers: number[];
}

/** Children of `pid` (virtiofsd forks a sandboxed worker). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(p));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function podProcesses(stateDir: string, id: string): PodProcesses {
  const record = JSON.parse(readFileSync(join(stateDir, "sandboxes", id, "resources.json"), "utf8")) as {
    processes: { pid: number; role: string }[];
  };
  const qemu = record.processes.find((p) => p.role === "qemu")!.pid;
  const helpers = record.processes.filter((p) => p.role !== "qemu").map((p) => p.pid);
  return { qemu, helpers: [...helpers, ...helpers.flatMap(childrenOf)] };
}

/** Rss and Pss (KiB) of the mappings of `file` in `pid`. */
function mappingOf(pid: number, file: string): { rss: number; pss: number } {
  let rss = 0;
  let pss = 0;
  for (const m of readFileSync(`/proc/${pid}/smaps`, "utf8").split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    if (!m.split("\n")[0]!.endsWith(` ${file}`)) continue;
    rss += Number(/\nRss:\s+(\d+) kB/.exec(m)?.[1] ?? 0);
    pss += Number(/\nPss:\s+(\d+) kB/.exec(m)?.[1] ?? 0);
  }
  return { rss, pss };
}

const mib = (kib: number) => kib / 1024;

interface Row {
  device: string;
  pods: number;
  qemuMib: number;
  helpersMib: number;
  imageRssMib: number;
  imagePssMib: number;
  startMs: number;
}

async function measureDevice(device: "pmem" | "blk", shimMib: number): Promise<Row[]> {
  const stateDir = mkdtempSync(join(tmpdir(), "tskata-density-"));
  const config = parseConfig(
    [
      "[hypervisor]",
      'accel = "tcg"',
      `root_image_device = "${device}"`,
      ...SETS,
      "[runtime]",
      `state_dir = "${stateDir}"`,
    ].join("\n"),
  );
  const image = config.hypervisor.image!;
  const sandboxes: Sandbox[] = [];
  const startMs: number[] = [];
  const rows: Row[] = [];
  const log = pino({ level: "warn" });
  try {
    for (const target of PODS) {
      while (sandboxes.length < target) {
        const id = `d${device}${sandboxes.length}`;
        const sb = await Sandbox.start({ spec: standaloneSpec(id), config, log });
        sandboxes.push(sb);
        startMs.push(sb.timings.agentReadyMs);
        process.stdout.write(
          `${device}: pod ${sandboxes.length} ready in ${sb.timings.agentReadyMs.toFixed(0)} ms\n`,
        );
      }
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      let qemu = 0;
      let helpers = 0;
      let imageRss = 0;
      let imagePss = 0;
      for (const sb of sandboxes) {
        const p = podProcesses(stateDir, sb.id);
        qemu += pssKiB(p.qemu);
        helpers += p.helpers.reduce((s, pid) => s + pssKiB(pid), 0);
        const m = mappingOf(p.qemu, image);
        imageRss += m.rss;
        imagePss += m.pss;
      }
      const row: Row = {
        device,
        pods: target,
        qemuMib: mib(qemu) / target,
        helpersMib: mib(helpers) / target,
        imageRssMib: mib(imageRss),
        imagePssMib: mib(imagePss),
        startMs: median(startMs),
      };
      rows.push(row);
      console.log(
        `${device} × ${target}: per pod qemu ${row.qemuMib.toFixed(1)} + virtiofsd ${row.helpersMib.toFixed(1)} + shim ${shimMib.toFixed(1)} = ${(row.qemuMib + row.helpersMib + shimMib).toFixed(1)} MiB; image mapping over all VMs Rss ${row.imageRssMib.toFixed(1)} MiB, Pss ${row.imagePssMib.toFixed(1)} MiB`,
      );
    }
  } finally {
    for (const sb of sandboxes.reverse()) await sb.stop().catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  }
  return rows;
}

/** PSS of one idle shim daemon (Node), with its VM, through a private containerd. */
async function measureShimMib(): Promise<number> {
  const ctrd = await startTskataContainerd();
  try {
    const r = await ctrd.exec(["run", "-d", "--runtime", RUNTIME, IMAGE, "dshim", "sleep", "100000"], {
      timeoutMs: 300_000,
    });
    if (r.code !== 0) throw new Error(`ctr run: ${r.stderr}`);
    await new Promise((res) => setTimeout(res, SETTLE_MS));
    const pids = shimProcesses("dshim").map((l) => Number(l.split(" ")[0]));
    const pss = pids.reduce((s, pid) => s + pssKiB(pid), 0);
    await ctrd.exec(["task", "kill", "-s", "SIGKILL", "dshim"]);
    await ctrd.exec(["task", "rm", "-f", "dshim"], { timeoutMs: 60_000 });
    await ctrd.exec(["containers", "rm", "dshim"]);
    return mib(pss);
  } finally {
    await ctrd.close();
  }
}

async function main(): Promise<void> {
  const shimMib = WITH_SHIM ? await measureShimMib() : 0;
  if (WITH_SHIM)
    console.log(`one idle shim daemon (measured alone, through containerd): ${shimMib.toFixed(1)} MiB PSS`);
  const all: Row[] = [];
  for (const device of DEVICES) all.push(...(await measureDevice(device, shimMib)));
  console.log(
    `\nTCG, q35, ${SETS.length ? SETS.join(" ") : "default configuration"}; settle ${SETTLE_MS} ms; PSS per pod in MiB`,
  );
  console.log(
    "device | pods | qemu | virtiofsd | shim | total/pod | image Rss (all VMs) | image Pss (all VMs) | start→Health median ms",
  );
  for (const r of all) {
    console.log(
      `${r.device} | ${r.pods} | ${r.qemuMib.toFixed(1)} | ${r.helpersMib.toFixed(1)} | ${shimMib.toFixed(1)} | ${(r.qemuMib + r.helpersMib + shimMib).toFixed(1)} | ${r.imageRssMib.toFixed(1)} | ${r.imagePssMib.toFixed(1)} | ${r.startMs.toFixed(0)}`,
    );
  }
  const at = (device: string) => all.filter((r) => r.device === device).sort((a, b) => b.pods - a.pods)[0];
  const best = DEVICES.map(at)
    .filter((r) => r !== undefined)
    .sort((a, b) => a.qemuMib + a.helpersMib - (b.qemuMib + b.helpersMib))[0]!;
  for (const device of DEVICES) {
    const r = at(device)!;
    console.log(
      `${device}: PSS per pod at ${r.pods} pods ${(r.qemuMib + r.helpersMib + shimMib).toFixed(1)} MiB`,
    );
  }
  console.log(
    `bench:density: PSS per pod at ${best.pods} pods: ${(best.qemuMib + best.helpersMib + shimMib).toFixed(0)} MiB (${best.device}; goal ≤ 150)`,
  );
}

await main();
