import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AgentError } from "../../../agent/errors.js";
import { countCpuList, onlineResources } from "../../../agent/init/hotplug.js";

let root: string;

/** A sysfs/procfs look-alike: cpu0 (no online file) + extra CPUs, memory blocks of 128 MiB. */
function tree(cpus: string[], blocks: string[]): { sys: string; proc: string } {
  root = mkdtempSync(join(tmpdir(), "tskata-hotplug-"));
  const cpuDir = join(root, "sys/devices/system/cpu");
  const memDir = join(root, "sys/devices/system/memory");
  mkdirSync(join(cpuDir, "cpu0"), { recursive: true });
  cpus.forEach((state, i) => {
    mkdirSync(join(cpuDir, `cpu${i + 1}`));
    writeFileSync(join(cpuDir, `cpu${i + 1}`, "online"), `${state}\n`);
  });
  writeFileSync(join(cpuDir, "online"), "0-1\n");
  mkdirSync(memDir, { recursive: true });
  writeFileSync(join(memDir, "block_size_bytes"), "8000000\n");
  blocks.forEach((state, i) => {
    mkdirSync(join(memDir, `memory${i}`));
    writeFileSync(join(memDir, `memory${i}`, "state"), `${state}\n`);
  });
  mkdirSync(join(root, "proc"));
  writeFileSync(join(root, "proc/meminfo"), "MemTotal:         675344 kB\nMemFree: 1 kB\n");
  return { sys: join(root, "sys"), proc: join(root, "proc") };
}

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("onlining hotplugged resources in the guest", () => {
  it("writes 1 to offline CPUs and online to offline memory blocks, and reports", async () => {
    const roots = tree(["0"], ["online", "online", "offline"]);
    const r = await onlineResources({ minVcpus: 2, minMemoryMib: 384, timeoutMs: 1000 }, roots);
    expect(readFileSync(join(roots.sys, "devices/system/cpu/cpu1/online"), "utf8")).toBe("1");
    expect(readFileSync(join(roots.sys, "devices/system/memory/memory2/state"), "utf8")).toBe("online");
    expect(r).toEqual({
      onlineVcpus: 2,
      memTotalKib: 675344,
      presentMemoryMib: 384,
      onlinedVcpus: 1,
      onlinedMemoryBlocks: 1,
    });
  });
  it("fails naming what is present when the host's additions never show up", async () => {
    const roots = tree([], ["online"]);
    const err = await onlineResources({ minVcpus: 2, minMemoryMib: 0, timeoutMs: 120 }, roots).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AgentError);
    expect((err as AgentError).code).toBe("ERR_AGENT_HOTPLUG");
    expect((err as Error).message).toContain("has 1 vCPUs and 128 MiB of memory present");
  });
  it("counts kernel CPU lists", () => {
    expect(countCpuList("0\n")).toBe(1);
    expect(countCpuList("0-3,5,7-8")).toBe(7);
  });
});
