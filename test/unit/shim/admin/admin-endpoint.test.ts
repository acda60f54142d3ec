/**
 * The shim's admin endpoint against the task layer on a fake VM (in-process agent over ttrpc):
 * served on the sandbox's fixed-length socket dir while the sandbox runs, answering Inspect,
 * Metrics (Prometheus text) and DebugExec — refused unless [agent] debug_exec = true — through the
 * same client and exec session `tskata` uses.
 */
import { PassThrough } from "node:stream";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connectAdmin } from "../../../../cli/admin/admin-client.js";
import { runExec } from "../../../../cli/admin/exec-session.js";
import { Code } from "../../../../protocol/ttrpc/codes.js";
import type { TtrpcError } from "../../../../protocol/ttrpc/errors.js";
import { AdminEndpoint } from "../../../../shim/admin/admin-endpoint.js";
import { agentRpcLatency } from "../../../../shim/agent-client/rpc-latency.js";
import { sandboxSocketDir } from "../../../../shim/hypervisor/sandbox-resources.js";
import type { OciSpec } from "../../../../shim/spec/guest-spec.js";
import { parsePrometheusText } from "../../../support/prometheus-check.js";
import { createInput, type TaskFixture, taskFixture } from "../../../support/task-fixture.js";

const spec: OciSpec = {
  ociVersion: "1.0.2",
  process: { args: ["sleep", "1000"], cwd: "/", user: { uid: 0, gid: 0 } },
  root: { path: "rootfs" },
};

let fx: TaskFixture;
const cleanups: (() => Promise<unknown>)[] = [];
beforeEach(() => {
  fx = taskFixture();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  fx.dispose();
});

async function runningPod(agentToml = "") {
  let admin!: AdminEndpoint;
  const m = fx.manager({ agentToml, onSandboxStarted: (s) => admin.sandboxStarted(s) });
  admin = new AdminEndpoint({
    sandboxId: "pod1",
    namespace: "k8s.io",
    containers: () => m.tasks.containerList(),
    log: pino({ level: "silent" }),
  });
  cleanups.push(
    () => m.tasks.destroy(),
    () => admin.close(),
  );
  await m.tasks.create(createInput("c1", fx.bundle(spec)));
  await m.tasks.start("c1", "");
  // the endpoint starts listening as the sandbox comes up
  for (let i = 0; i < 100 && admin.address === undefined; i++) await new Promise((r) => setTimeout(r, 10));
  const conn = await connectAdmin(admin.address!);
  cleanups.push(async () => conn.close());
  return { ...m, admin, api: conn.api };
}

describe("admin endpoint", () => {
  it("listens as admin.sock in the sandbox's fixed-length socket dir while the sandbox runs", async () => {
    const { admin } = await runningPod();
    expect(admin.address).toBe(`${sandboxSocketDir(`${fx.work}/state`, "pod1")}/admin.sock`);
  });

  it("Inspect reports the containers and their states, the VM size, host PSS, guest memory and agent RTT", async () => {
    const { api } = await runningPod();
    const r = await api.inspect({});
    expect(r.sandboxId).toBe("pod1");
    expect(r.state).toBe("running");
    expect(r.containers.map((c) => [c.id, c.init?.state, c.init?.pid])).toEqual([["c1", "running", 100]]);
    expect([r.memoryMib, r.vcpus]).toEqual([512, 1]);
    expect(r.shimPid).toBe(process.pid);
    expect(r.hostProcesses.find((p) => p.role === "shim")?.pssBytes).toBeGreaterThan(0n);
    expect(r.guestMemTotalBytes).toBe(1_000_000n * 1024n);
    expect(r.guestMemAvailableBytes).toBe(800_000n * 1024n);
    expect(r.agentRttMs).toBeGreaterThanOrEqual(0);
    expect(r.guestError).toBe("");
    expect(r.bootPhases.map((p) => p.name)).toEqual(expect.arrayContaining(["config", "create-container"]));
  });

  it("Inspect with skip_guest asks the agent nothing", async () => {
    const { api, provider } = await runningPod();
    const before = provider.started[0]!.fake.calls.length;
    const r = await api.inspect({ skipGuest: true });
    expect(r.agentRttMs).toBe(-1);
    expect(r.guestMemTotalBytes).toBe(0n);
    expect(provider.started[0]!.fake.calls.length).toBe(before);
  });

  it("Metrics is Prometheus text holding boot phases, VM memory, containers and the agent RPC histogram", async () => {
    const { api } = await runningPod();
    const page = parsePrometheusText((await api.metrics({})).text);
    const value = (name: string, labels: Record<string, string> = {}) =>
      page.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        ?.value;
    const phases = page.samples
      .filter((s) => s.name === "tskata_boot_phase_seconds")
      .map((s) => s.labels["phase"]);
    expect(phases).toEqual(expect.arrayContaining(["config", "create-container"]));
    expect(page.types.get("tskata_boot_phase_seconds")).toBe("gauge");
    expect(value("tskata_vm_memory_bytes")).toBe(512 * 1024 * 1024);
    expect(value("tskata_containers")).toBe(1);
    expect(value("tskata_processes", { state: "running" })).toBe(1);
    expect(value("tskata_vm_starts_total")).toBe(1);
    expect(value("tskata_vm_deaths_total")).toBe(0);
    expect(page.types.get("tskata_agent_rpc_duration_seconds")).toBe("histogram");
    const created = value("tskata_agent_rpc_duration_seconds_count", { method: "Agent/createContainer" });
    expect(created).toBeGreaterThanOrEqual(1);
    expect(
      value("tskata_agent_rpc_duration_seconds_bucket", { method: "Agent/createContainer", le: "+Inf" }),
    ).toBe(created);
  });

  it("DebugExec is refused with PERMISSION_DENIED naming [agent] debug_exec when the configuration does not allow it", async () => {
    const { api, provider } = await runningPod();
    const err = (await api.debugExec({ args: ["uname", "-a"] }).catch((e: unknown) => e)) as TtrpcError;
    expect(err.code).toBe(Code.PERMISSION_DENIED);
    expect(err.message).toContain("ADMIN_DEBUG_EXEC_DISABLED");
    expect(err.message).toContain("[agent] debug_exec = true");
    expect(provider.started[0]!.fake.calls.some((c) => c.method === "debugExec")).toBe(false);
  });

  it("DebugExec with debug_exec = true runs a shell by default through the agent and returns its exit status", async () => {
    const { api, provider } = await runningPod("debug_exec = true");
    const stdin = new PassThrough();
    stdin.end();
    const status = await runExec(
      api,
      { args: [], tty: false },
      { stdin, stdout: new PassThrough(), stderr: new PassThrough(), onResize: () => () => {} },
    );
    expect(status).toBe(0);
    const call = provider.started[0]!.fake.calls.find((c) => c.method === "debugExec")?.request as {
      args: string[];
      execId: string;
    };
    expect(call.args).toEqual(["/bin/sh"]);
    const waited = provider.started[0]!.fake.calls.find(
      (c) => c.method === "waitProcess" && (c.request as { execId: string }).execId === call.execId,
    );
    expect(waited?.request).toMatchObject({ containerId: "" });
  });

  it("debug calls naming an exec id it did not start are NOT_FOUND (no reach into container processes)", async () => {
    const { api } = await runningPod("debug_exec = true");
    const err = (await api.debugWait({ execId: "" }).catch((e: unknown) => e)) as TtrpcError;
    expect(err.code).toBe(Code.NOT_FOUND);
  });

  it("counts a VM that died on its own and stops serving once it is gone", async () => {
    const { admin, provider, api } = await runningPod();
    const socket = admin.address!;
    provider.started[0]!.kill();
    await provider.started[0]!.exited;
    for (let i = 0; i < 100 && admin.address !== undefined; i++) await new Promise((r) => setTimeout(r, 10));
    expect(admin.vmDeaths).toBe(1);
    expect(admin.address).toBeUndefined();
    await expect(api.inspect({})).rejects.toThrow();
    await expect(connectAdmin(socket, 500)).rejects.toMatchObject({ code: "CLI_SANDBOX_UNREACHABLE" });
  });

  it("times every agent call into the process-wide recorder", async () => {
    await runningPod();
    const methods = agentRpcLatency.snapshot().map(([m]) => m);
    expect(methods).toEqual(expect.arrayContaining(["Agent/createContainer", "Agent/startContainer"]));
  });
});
