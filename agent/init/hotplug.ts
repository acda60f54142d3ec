/**
 * Brings hotplugged CPUs and memory online. The host adds them through ACPI (QEMU `device_add`
 * of a CPU or a pc-dimm); the guest kernel sees them a moment later. Memory normally comes
 * online by itself (kernel parameter `memhp_default_state=online`), CPUs never do: each new
 * /sys/devices/system/cpu/cpuN starts offline until someone writes 1 to its `online`.
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { AgentError } from "../errors.js";

export interface OnlineRequest {
  /** Wait until this many vCPUs are present (0 = no wait). */
  minVcpus: number;
  /** Wait until this much memory (MiB of memory blocks) is present (0 = no wait). */
  minMemoryMib: number;
  /** Bound on the wait (0 = DEFAULT_ONLINE_TIMEOUT_MS). */
  timeoutMs: number;
}

export interface GuestResourcesReport {
  onlineVcpus: number;
  memTotalKib: number;
  presentMemoryMib: number;
  onlinedVcpus: number;
  onlinedMemoryBlocks: number;
}

export const DEFAULT_ONLINE_TIMEOUT_MS = 10_000;
const POLL_MS = 50;

/** Where the kernel's files live; tests point this at a directory tree of their own. */
export interface HotplugRoots {
  sys: string;
  proc: string;
}

const SYSTEM_ROOTS: HotplugRoots = { sys: "/sys", proc: "/proc" };

/** Waits (bounded) for what the host added to appear, onlines everything offline, reports. */
export async function onlineResources(
  req: OnlineRequest,
  roots: HotplugRoots = SYSTEM_ROOTS,
): Promise<GuestResourcesReport> {
  const timeoutMs = req.timeoutMs > 0 ? req.timeoutMs : DEFAULT_ONLINE_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  let onlinedVcpus = 0;
  let onlinedMemoryBlocks = 0;
  for (;;) {
    // Online as they come: memory first, so new CPUs have somewhere to allocate from.
    onlinedMemoryBlocks += await onlineMemoryBlocks(roots);
    onlinedVcpus += await onlineCpus(roots);
    const cpus = (await cpuDirs(roots)).length;
    const memoryMib = await presentMemoryMib(roots);
    if (cpus >= req.minVcpus && memoryMib >= req.minMemoryMib) break;
    if (Date.now() >= deadline) {
      throw new AgentError(
        "ERR_AGENT_HOTPLUG",
        `after ${timeoutMs} ms the guest has ${cpus} vCPUs and ${memoryMib} MiB of memory present, ` +
          `expected at least ${req.minVcpus} vCPUs and ${req.minMemoryMib} MiB`,
      );
    }
    await sleep(POLL_MS);
  }
  return {
    onlineVcpus: countCpuList(await readText(join(roots.sys, "devices/system/cpu/online"))),
    memTotalKib: await memTotalKib(roots),
    presentMemoryMib: await presentMemoryMib(roots),
    onlinedVcpus,
    onlinedMemoryBlocks,
  };
}

/** Writes 1 to every cpuN/online that reads 0; returns how many it onlined. */
async function onlineCpus(roots: HotplugRoots): Promise<number> {
  let onlined = 0;
  for (const dir of await cpuDirs(roots)) {
    const file = join(dir, "online");
    // cpu0 usually has no `online` file: it cannot go offline.
    const state = await readText(file).catch(() => "1");
    if (state.trim() !== "0") continue;
    await write(file, "1");
    onlined++;
  }
  return onlined;
}

/** Writes `online` to every memoryN/state that reads `offline`; returns how many it onlined. */
async function onlineMemoryBlocks(roots: HotplugRoots): Promise<number> {
  let onlined = 0;
  for (const dir of await memoryDirs(roots)) {
    const file = join(dir, "state");
    const state = await readText(file).catch(() => "");
    if (state.trim() !== "offline") continue;
    await write(file, "online");
    onlined++;
  }
  return onlined;
}

async function cpuDirs(roots: HotplugRoots): Promise<string[]> {
  const base = join(roots.sys, "devices/system/cpu");
  return (await readdir(base)).filter((n) => /^cpu\d+$/.test(n)).map((n) => join(base, n));
}

async function memoryDirs(roots: HotplugRoots): Promise<string[]> {
  const base = join(roots.sys, "devices/system/memory");
  const names = await readdir(base).catch(() => [] as string[]);
  return names.filter((n) => /^memory\d+$/.test(n)).map((n) => join(base, n));
}

/** Memory blocks present (online or not) times the block size, in MiB. */
async function presentMemoryMib(roots: HotplugRoots): Promise<number> {
  const blocks = (await memoryDirs(roots)).length;
  if (blocks === 0) return 0;
  const hex = await readText(join(roots.sys, "devices/system/memory/block_size_bytes"));
  return (blocks * Number.parseInt(hex.trim(), 16)) / (1024 * 1024);
}

async function memTotalKib(roots: HotplugRoots): Promise<number> {
  const text = await readText(join(roots.proc, "meminfo"));
  const kib = /^MemTotal:\s+(\d+)\s+kB/m.exec(text)?.[1];
  if (kib === undefined) throw new AgentError("ERR_AGENT_HOTPLUG", "no MemTotal in /proc/meminfo");
  return Number(kib);
}

/** Counts the CPUs of a kernel CPU list such as "0-3,5". */
export function countCpuList(list: string): number {
  let count = 0;
  for (const part of list.trim().split(",")) {
    if (part === "") continue;
    const [from, to] = part.split("-").map(Number);
    count += to === undefined ? 1 : to! - from! + 1;
  }
  return count;
}

function readText(path: string): Promise<string> {
  return readFile(path, "utf8");
}

async function write(path: string, value: string): Promise<void> {
  try {
    await writeFile(path, value);
  } catch (cause) {
    throw new AgentError(
      "ERR_AGENT_HOTPLUG",
      `cannot write ${value} to ${path}: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
}
