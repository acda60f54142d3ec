/** cgroup v2 statistics of one container, shaped for io.containerd.cgroups.v2.Metrics. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readFlatKeyed, readValue } from "./cgroup-fs.js";

export interface CgroupStats {
  memory: {
    usage: bigint;
    limit: bigint;
    swapUsage: bigint;
    swapLimit: bigint;
    stat: Record<string, bigint>;
    events: { low: bigint; high: bigint; max: bigint; oom: bigint; oomKill: bigint };
  };
  cpu: {
    usageUsec: bigint;
    userUsec: bigint;
    systemUsec: bigint;
    nrPeriods: bigint;
    nrThrottled: bigint;
    throttledUsec: bigint;
  };
  pids: { current: bigint; limit: bigint };
  io: { major: bigint; minor: bigint; rbytes: bigint; wbytes: bigint; rios: bigint; wios: bigint }[];
}

/** io.stat lines: "MAJ:MIN rbytes=… wbytes=… rios=… wios=… …". */
export function parseIoStat(text: string): CgroupStats["io"] {
  const out: CgroupStats["io"] = [];
  for (const line of text.split("\n")) {
    const m = /^(\d+):(\d+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const kv = new Map(m[3]!.split(/\s+/).map((p) => p.split("=") as [string, string]));
    const n = (k: string) => BigInt(kv.get(k) ?? "0");
    out.push({
      major: BigInt(m[1]!),
      minor: BigInt(m[2]!),
      rbytes: n("rbytes"),
      wbytes: n("wbytes"),
      rios: n("rios"),
      wios: n("wios"),
    });
  }
  return out;
}

/** Reads the stats; an unlimited value ("max") is reported as 0. */
export function readCgroupStats(dir: string): CgroupStats {
  const mem = readFlatKeyed(dir, "memory.stat");
  const ev = readFlatKeyed(dir, "memory.events");
  const cpu = readFlatKeyed(dir, "cpu.stat");
  const v = (f: string) => readValue(dir, f) ?? 0n;
  let io: CgroupStats["io"] = [];
  try {
    io = parseIoStat(readFileSync(join(dir, "io.stat"), "utf8"));
  } catch {
    // no io controller
  }
  const g = (m: Map<string, bigint>, k: string) => m.get(k) ?? 0n;
  return {
    memory: {
      usage: v("memory.current"),
      limit: v("memory.max"),
      swapUsage: v("memory.swap.current"),
      swapLimit: v("memory.swap.max"),
      stat: Object.fromEntries(mem),
      events: {
        low: g(ev, "low"),
        high: g(ev, "high"),
        max: g(ev, "max"),
        oom: g(ev, "oom"),
        oomKill: g(ev, "oom_kill"),
      },
    },
    cpu: {
      usageUsec: g(cpu, "usage_usec"),
      userUsec: g(cpu, "user_usec"),
      systemUsec: g(cpu, "system_usec"),
      nrPeriods: g(cpu, "nr_periods"),
      nrThrottled: g(cpu, "nr_throttled"),
      throttledUsec: g(cpu, "throttled_usec"),
    },
    pids: { current: v("pids.current"), limit: v("pids.max") },
    io,
  };
}
