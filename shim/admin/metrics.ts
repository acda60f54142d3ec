/**
 * Metrics: the sandbox's figures as Prometheus text — boot phases (the start-up timeline of the
 * container that opened the sandbox), VM size and host PSS, guest memory, containers and
 * processes, VM starts and deaths, and the agent RPC latency histogram. `tskata metrics` adds the
 * sandbox_id label when it gathers every sandbox's page.
 */
import { LATENCY_BUCKETS_SECONDS } from "../agent-client/rpc-latency.js";
import type { AdminSubject } from "./admin-subject.js";
import { inspect } from "./inspect.js";
import { type MetricFamily, renderFamilies, type Sample } from "./prometheus-text.js";

const MIB = 1024 * 1024;

export async function renderMetrics(subject: AdminSubject): Promise<string> {
  const view = await inspect(subject, { skipGuest: false });
  const started = subject.current();
  const families: MetricFamily[] = [];
  const gauge = (name: string, help: string, samples: Sample[]) =>
    families.push({ name, help, type: "gauge", samples });
  const counter = (name: string, help: string, samples: Sample[]) =>
    families.push({ name, help, type: "counter", samples });

  gauge("tskata_sandbox_info", "The sandbox: its kind, pod, accelerator and state (value 1).", [
    {
      labels: {
        kind: view.kind ?? "",
        pod_name: view.podName ?? "",
        pod_namespace: view.podNamespace ?? "",
        accel: view.accel ?? "",
        state: view.state ?? "",
      },
      value: 1,
    },
  ]);
  if (started) {
    const phases = started.bootTimeline.phases();
    gauge(
      "tskata_boot_phase_seconds",
      "How long each start-up phase of the sandbox took (host and guest phases, in order).",
      phases.map((p, i) => ({ labels: { phase: p.phase, order: String(i) }, value: p.durationMs / 1000 })),
    );
    gauge("tskata_boot_seconds", "From the shim's first request to the last start-up mark.", [
      { value: started.bootTimeline.totalMs / 1000 },
    ]);
    gauge("tskata_sandbox_uptime_seconds", "Seconds since the sandbox became ready.", [
      { value: view.uptimeSeconds ?? 0 },
    ]);
    gauge("tskata_vm_memory_bytes", "Memory the VM is configured with now (hotplug included).", [
      { value: (view.memoryMib ?? 0) * MIB },
    ]);
    gauge("tskata_vm_vcpus", "vCPUs the VM has now.", [{ value: view.vcpus ?? 0 }]);
    gauge(
      "tskata_host_pss_bytes",
      "Proportional set size on the host of the sandbox's processes (qemu, virtiofsd, shim).",
      (view.hostProcesses ?? []).map((p) => ({
        labels: { process: p.role ?? "" },
        value: Number(p.pssBytes ?? 0),
      })),
    );
    if ((view.guestMemTotalBytes ?? 0n) > 0n) {
      gauge("tskata_guest_memory_total_bytes", "The guest's MemTotal (/proc/meminfo).", [
        { value: Number(view.guestMemTotalBytes) },
      ]);
      gauge("tskata_guest_memory_available_bytes", "The guest's MemAvailable (/proc/meminfo).", [
        { value: Number(view.guestMemAvailableBytes ?? 0n) },
      ]);
    }
  }
  const containers = subject.containers();
  gauge("tskata_containers", "Containers of the sandbox the shim tracks.", [{ value: containers.length }]);
  const byState = new Map<string, number>();
  for (const c of containers)
    for (const p of [c.init, ...c.execs.values()])
      byState.set(p.state.kind, (byState.get(p.state.kind) ?? 0) + 1);
  gauge(
    "tskata_processes",
    "Container processes (inits and execs) by state.",
    [...byState.entries()].map(([state, n]) => ({ labels: { state }, value: n })),
  );
  counter("tskata_vm_starts_total", "VMs started for this sandbox by this shim.", [
    { value: subject.vmStarts },
  ]);
  counter("tskata_vm_deaths_total", "VMs of this sandbox that died on their own (not stopped).", [
    { value: subject.vmDeaths },
  ]);
  const rpc = subject.latency.snapshot();
  const histogram: Sample[] = [];
  for (const [method, m] of rpc) {
    for (const [i, le] of LATENCY_BUCKETS_SECONDS.entries())
      histogram.push({
        name: "tskata_agent_rpc_duration_seconds_bucket",
        labels: { method, le: String(le) },
        value: m.buckets[i]!,
      });
    histogram.push(
      { name: "tskata_agent_rpc_duration_seconds_bucket", labels: { method, le: "+Inf" }, value: m.count },
      { name: "tskata_agent_rpc_duration_seconds_sum", labels: { method }, value: m.sumSeconds },
      { name: "tskata_agent_rpc_duration_seconds_count", labels: { method }, value: m.count },
    );
  }
  families.push({
    name: "tskata_agent_rpc_duration_seconds",
    help: "Duration of the shim's calls to the agent, per method (long-polls included).",
    type: "histogram",
    samples: histogram,
  });
  counter(
    "tskata_agent_rpc_errors_total",
    "The shim's calls to the agent that failed, per method.",
    rpc.map(([method, m]) => ({ labels: { method }, value: m.errors })),
  );
  return renderFamilies(families);
}
