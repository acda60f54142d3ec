/**
 * Inspect: the sandbox as the shim sees it — pod, containers and execs with their states, QEMU
 * and virtiofsd pids, accelerator, uptime, size, host PSS — plus two questions to the guest
 * (skippable): its memory (/proc/meminfo through the agent) and one Health.Check round trip.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { InspectResponseSchema } from "../../protocol/generated/tskata/admin/v1/admin_pb.js";
import type { ShimProcess } from "../task/shim-process.js";
import type { AdminSubject } from "./admin-subject.js";

export type InspectReply = MessageInitShape<typeof InspectResponseSchema>;

/** Bound on each call into the guest made for Inspect. */
const GUEST_CALL_TIMEOUT_MS = 5000;

function processInfo(p: ShimProcess) {
  const exit = p.state.kind === "stopped" || p.state.kind === "deleted" ? p.state.exit : undefined;
  return { id: p.id, state: p.state.kind, pid: p.pid, exitStatus: exit?.status ?? 0 };
}

export async function inspect(subject: AdminSubject, opts: { skipGuest: boolean }): Promise<InspectReply> {
  const started = subject.current();
  const containers = subject.containers().map((c) => ({
    id: c.id,
    bundle: c.bundle,
    podSandbox: c.isPodSandbox,
    init: processInfo(c.init),
    execs: [...c.execs.values()].map(processInfo),
  }));
  const base: InspectReply = {
    sandboxId: subject.sandboxId,
    namespace: subject.namespace,
    containers,
    shimPid: process.pid,
    vmDeaths: subject.vmDeaths,
    agentRttMs: -1,
    state: started ? "running" : subject.vmStarts > 0 ? "stopped" : "starting",
  };
  if (!started) return base;
  const { sandbox, spec, config, bootTimeline } = started;
  const facts = await subject.hostFacts(config.runtime.stateDir, sandbox.id);
  const reply: InspectReply = {
    ...base,
    sandboxId: sandbox.id,
    kind: spec.kind,
    podName: spec.podName ?? "",
    podNamespace: spec.podNamespace ?? "",
    qemuPid: facts.qemuPid,
    virtiofsdPid: facts.virtiofsdPid,
    accel: facts.accel,
    uptimeSeconds: subject.readyAtMs === undefined ? 0 : (Date.now() - subject.readyAtMs) / 1000,
    memoryMib: sandbox.size.memoryMib,
    vcpus: sandbox.size.vcpus,
    hostPssBytes: BigInt(facts.pssBytes),
    hostProcesses: facts.processes.map((p) => ({ role: p.role, pid: p.pid, pssBytes: BigInt(p.pssBytes) })),
    debugExec: config.agent.debugExec,
    configSource: config.source,
    bootPhases: bootTimeline.phases().map((p) => ({ name: p.phase, durationMs: p.durationMs })),
  };
  if (opts.skipGuest) return reply;
  const problems: string[] = [];
  try {
    const m = await sandbox.agent.guestMemory({}, { timeoutMs: GUEST_CALL_TIMEOUT_MS });
    reply.guestMemTotalBytes = m.memTotalKib * 1024n;
    reply.guestMemAvailableBytes = m.memAvailableKib * 1024n;
  } catch (err) {
    problems.push(`guest memory: ${(err as Error).message}`);
  }
  if (sandbox.health) {
    const t0 = performance.now();
    try {
      await sandbox.health.check({}, { timeoutMs: GUEST_CALL_TIMEOUT_MS });
      reply.agentRttMs = performance.now() - t0;
    } catch (err) {
      problems.push(`agent round trip: ${(err as Error).message}`);
    }
  } else {
    problems.push("agent round trip: the sandbox exposes no Health client");
  }
  if (problems.length) reply.guestError = problems.join("; ");
  return reply;
}
