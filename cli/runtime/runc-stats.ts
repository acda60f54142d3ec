/**
 * `events --stats` answers in runc's shape (libcontainer's types.Stats, what go-runc decodes):
 * the guest container's cgroup v2 figures from the agent, mapped field by field. CPU times are
 * nanoseconds in runc's shape, microseconds in cgroup v2's cpu.stat.
 */

interface AgentStats {
  memory?: {
    usage?: number;
    limit?: number;
    swapUsage?: number;
    swapLimit?: number;
    stat?: Record<string, number>;
  };
  cpu?: {
    usageUsec?: number;
    userUsec?: number;
    systemUsec?: number;
    nrPeriods?: number;
    nrThrottled?: number;
    throttledUsec?: number;
  };
  pids?: { current?: number; limit?: number };
  io?: { major?: number; minor?: number; rbytes?: number; wbytes?: number; rios?: number; wios?: number }[];
}

const blkio = (entries: AgentStats["io"], read: "rbytes" | "rios", write: "wbytes" | "wios") =>
  (entries ?? []).flatMap((e) => [
    { major: e.major ?? 0, minor: e.minor ?? 0, op: "Read", value: e[read] ?? 0 },
    { major: e.major ?? 0, minor: e.minor ?? 0, op: "Write", value: e[write] ?? 0 },
  ]);

export function runcStats(agent: AgentStats): object {
  const m = agent.memory ?? {};
  const c = agent.cpu ?? {};
  return {
    cpu: {
      usage: {
        total: (c.usageUsec ?? 0) * 1000,
        kernel: (c.systemUsec ?? 0) * 1000,
        user: (c.userUsec ?? 0) * 1000,
      },
      throttling: {
        periods: c.nrPeriods ?? 0,
        throttledPeriods: c.nrThrottled ?? 0,
        throttledTime: (c.throttledUsec ?? 0) * 1000,
      },
    },
    memory: {
      cache: m.stat?.file ?? 0,
      usage: { usage: m.usage ?? 0, limit: m.limit ?? 0 },
      swap: { usage: m.swapUsage ?? 0, limit: m.swapLimit ?? 0 },
      raw: m.stat ?? {},
    },
    pids: { current: agent.pids?.current ?? 0, limit: agent.pids?.limit ?? 0 },
    blkio: {
      ioServiceBytesRecursive: blkio(agent.io, "rbytes", "wbytes"),
      ioServicedRecursive: blkio(agent.io, "rios", "wios"),
    },
  };
}
