/** The agent's cgroup v2 statistics as containerd's io.containerd.cgroups.v2.Metrics. */
import { create, toBinary } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import {
  type MemoryStat,
  MemoryStatSchema,
  MetricsSchema,
} from "../../protocol/generated/containerd/cgroups/v2/metrics_pb.js";
import type { StatsContainerResponse } from "../../protocol/generated/tskata/agent/v1/agent_pb.js";

export const METRICS_TYPE_URL = "io.containerd.cgroups.v2.Metrics";

const MEMORY_FIELDS = new Set(MemoryStatSchema.fields.map((f) => f.localName));

/** memory.stat keys that MemoryStat has a field for (snake_case → camelCase); others are dropped. */
function memoryStat(
  stat: Record<string, bigint>,
  usage: bigint,
  limit: bigint,
  swap: bigint,
  swapLimit: bigint,
) {
  const known: Record<string, bigint> = {};
  for (const [key, value] of Object.entries(stat)) {
    const field = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    if (MEMORY_FIELDS.has(field)) known[field] = value;
  }
  return create(MemoryStatSchema, {
    ...(known as Omit<Partial<MemoryStat>, "$typeName" | "$unknown">),
    usage,
    usageLimit: limit,
    swapUsage: swap,
    swapLimit,
  });
}

export function toMetricsAny(s: StatsContainerResponse): Any {
  const m = s.memory;
  const metrics = create(MetricsSchema, {
    pids: s.pids ? { current: s.pids.current, limit: s.pids.limit } : undefined,
    cpu: s.cpu
      ? {
          usageUsec: s.cpu.usageUsec,
          userUsec: s.cpu.userUsec,
          systemUsec: s.cpu.systemUsec,
          nrPeriods: s.cpu.nrPeriods,
          nrThrottled: s.cpu.nrThrottled,
          throttledUsec: s.cpu.throttledUsec,
        }
      : undefined,
    memory: m ? memoryStat(m.stat, m.usage, m.limit, m.swapUsage, m.swapLimit) : undefined,
    memoryEvents: m
      ? { low: m.eventsLow, high: m.eventsHigh, max: m.eventsMax, oom: m.eventsOom, oomKill: m.eventsOomKill }
      : undefined,
    io: {
      usage: s.io.map((e) => ({
        major: e.major,
        minor: e.minor,
        rbytes: e.rbytes,
        wbytes: e.wbytes,
        rios: e.rios,
        wios: e.wios,
      })),
    },
  });
  return {
    $typeName: "google.protobuf.Any",
    typeUrl: METRICS_TYPE_URL,
    value: toBinary(MetricsSchema, metrics),
  };
}
