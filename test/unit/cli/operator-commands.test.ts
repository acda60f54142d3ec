/**
 * The pieces of `tskata list/inspect/exec/metrics` that need no shim: sandboxes found from their
 * resource records and resolved by id or prefix, the list table, the exec command line, the
 * merged metrics page (sandbox_id on every sample, one header per family, shims that did not
 * answer), and the Prometheus writer and agent-call recorder the shim feeds them from.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { afterAll, describe, expect, it } from "vitest";
import { parseExecArgs } from "../../../cli/admin/exec-args.js";
import { mergeMetricPages, withSandboxLabel } from "../../../cli/admin/metrics-merge.js";
import { listSandboxDirs, resolveSandbox } from "../../../cli/admin/sandbox-dirs.js";
import { gatherList, type ListEntry, renderList } from "../../../cli/admin/sandbox-list.js";
import { InspectResponseSchema } from "../../../protocol/generated/tskata/admin/v1/admin_pb.js";
import { accelFromArgv } from "../../../shim/admin/host-facts.js";
import { renderFamilies } from "../../../shim/admin/prometheus-text.js";
import { instrumentClient, RpcLatency } from "../../../shim/agent-client/rpc-latency.js";
import { sandboxPaths } from "../../../shim/hypervisor/sandbox-resources.js";
import { parsePrometheusText } from "../../support/prometheus-check.js";

const work = mkdtempSync(join(tmpdir(), "tskata-ops-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function recordSandbox(stateDir: string, id: string, adminSocket?: string) {
  const paths = sandboxPaths(stateDir, id);
  mkdirSync(paths.dir, { recursive: true });
  writeFileSync(
    paths.record,
    JSON.stringify({ version: 1, sandboxId: id, dir: paths.dir, createdAt: "", processes: [], adminSocket }),
  );
}

describe("sandbox discovery", () => {
  const stateDir = join(work, "state");
  recordSandbox(stateDir, "abc123", "/run/x/admin.sock");
  recordSandbox(stateDir, "abd456");
  mkdirSync(join(stateDir, "sandboxes", "no-record"), { recursive: true });

  it("finds every sandbox with a resource record and its admin socket (computed for older records)", async () => {
    const dirs = await listSandboxDirs(stateDir);
    expect(dirs.map((d) => [d.id, d.adminSocket])).toEqual([
      ["abc123", "/run/x/admin.sock"],
      ["abd456", sandboxPaths(stateDir, "abd456").adminSocket],
    ]);
  });

  it("resolves SANDBOX by id or unique prefix, and names the candidates when ambiguous", async () => {
    const dirs = await listSandboxDirs(stateDir);
    expect(resolveSandbox(dirs, "abc", stateDir).id).toBe("abc123");
    expect(() => resolveSandbox(dirs, "ab", stateDir)).toThrow(/matches 2 sandboxes \(abc123, abd456\)/);
    expect(() => resolveSandbox(dirs, "zz", stateDir)).toThrow(/no sandbox "zz"/);
  });

  it("an empty or missing state dir lists nothing", async () => {
    expect(await listSandboxDirs(join(work, "absent"))).toEqual([]);
  });
});

describe("tskata list rendering", () => {
  it("shows each answering sandbox's pod, containers, accel, uptime and PSS, and the others as not answering", async () => {
    const inspect = create(InspectResponseSchema, {
      sandboxId: "abc123",
      podName: "web",
      podNamespace: "default",
      state: "running",
      accel: "tcg",
      uptimeSeconds: 75,
      hostPssBytes: 300n * 1024n * 1024n,
      containers: [
        { id: "pause", init: { state: "running" } },
        { id: "nginx", init: { state: "created" } },
      ],
    });
    const entries: ListEntry[] = await gatherList(
      [
        { id: "abc123", adminSocket: "a.sock", createdAt: "", ownerPid: 1 },
        { id: "dead99", adminSocket: "d.sock", createdAt: "", ownerPid: 2 },
      ],
      {
        connect: async (socket) => {
          if (socket !== "a.sock") throw new Error("ECONNREFUSED");
          return { api: { inspect: async () => inspect } as never, close: () => {} };
        },
      },
    );
    expect(entries[1]!.error).toBe("ECONNREFUSED");
    const lines = renderList(entries).trimEnd().split("\n");
    expect(lines[0]!.split(/\s{2,}/)).toEqual([
      "SANDBOX",
      "POD",
      "CONTAINERS",
      "STATE",
      "ACCEL",
      "UPTIME",
      "PSS",
    ]);
    expect(lines[1]!.split(/\s{2,}/)).toEqual([
      "abc123",
      "default/web",
      "pause(running),nginx(created)",
      "running",
      "tcg",
      "1m15s",
      "300.0MiB",
    ]);
    expect(lines[2]).toMatch(/^dead99\s+-\s+-\s+shim not answering/);
  });
});

describe("tskata exec command line", () => {
  it("keeps the guest command's own options and takes tskata's only before SANDBOX", () => {
    expect(parseExecArgs(["--state-dir", "/s", "-t", "sb1", "uname", "-a"])).toEqual({
      sandbox: "sb1",
      command: ["uname", "-a"],
      config: undefined,
      stateDir: "/s",
      tty: true,
    });
    expect(parseExecArgs(["--config=/c.toml", "sb1", "--", "ls", "--help"]).command).toEqual([
      "ls",
      "--help",
    ]);
    expect(parseExecArgs(["sb1"]).command).toEqual([]);
  });

  it("refuses a missing SANDBOX and unknown options", () => {
    expect(() => parseExecArgs(["--no-tty"])).toThrow(/SANDBOX is required/);
    expect(() => parseExecArgs(["--bogus", "sb1"])).toThrow(/unknown option "--bogus"/);
  });
});

describe("metrics", () => {
  const page = renderFamilies([
    { name: "tskata_containers", help: "Containers.", type: "gauge", samples: [{ value: 2 }] },
    {
      name: "tskata_boot_phase_seconds",
      help: "Phases.",
      type: "gauge",
      samples: [{ labels: { phase: 'qemu "spawn"\\x' }, value: 0.25 }],
    },
    {
      name: "tskata_agent_rpc_duration_seconds",
      help: "Latency.",
      type: "histogram",
      samples: [
        { name: "tskata_agent_rpc_duration_seconds_bucket", labels: { method: "m", le: "+Inf" }, value: 1 },
        { name: "tskata_agent_rpc_duration_seconds_count", labels: { method: "m" }, value: 1 },
      ],
    },
  ]);

  it("the writer's page parses as Prometheus text, label values escaped", () => {
    const parsed = parsePrometheusText(page);
    expect(parsed.samples.find((s) => s.name === "tskata_boot_phase_seconds")?.labels["phase"]).toBe(
      'qemu "spawn"\\x',
    );
  });

  it("the writer refuses an invalid metric name", () => {
    expect(() => renderFamilies([{ name: "bad-name", help: "", type: "gauge", samples: [] }])).toThrow(
      /bad-name/,
    );
  });

  it("the merged page labels every sample with its sandbox, keeps one header per family and marks silent shims", () => {
    const merged = mergeMetricPages([
      { sandboxId: "a", text: page },
      { sandboxId: "b", text: page },
      { sandboxId: "c", text: undefined },
    ]);
    const parsed = parsePrometheusText(merged);
    expect(merged.match(/# TYPE tskata_containers /g)).toHaveLength(1);
    expect(
      parsed.samples.filter((s) => s.name === "tskata_containers").map((s) => s.labels["sandbox_id"]),
    ).toEqual(["a", "b"]);
    expect(
      parsed.samples
        .filter((s) => s.name === "tskata_sandbox_up")
        .map((s) => [s.labels["sandbox_id"], s.value]),
    ).toEqual([
      ["a", 1],
      ["b", 1],
      ["c", 0],
    ]);
    expect(parsed.samples.every((s) => s.labels["sandbox_id"] !== undefined)).toBe(true);
  });

  it("adds the sandbox label to samples with and without labels", () => {
    expect(withSandboxLabel("m 1", "x")).toBe('m{sandbox_id="x"} 1');
    expect(withSandboxLabel('m{a="b"} 1', "x")).toBe('m{sandbox_id="x",a="b"} 1');
    expect(withSandboxLabel("m{} 1", "x")).toBe('m{sandbox_id="x"} 1');
  });
});

describe("agent call recorder", () => {
  it("times each call into cumulative buckets per method, counting failures, and traces it", async () => {
    const recorder = new RpcLatency();
    const traced: string[] = [];
    recorder.tracer = (c) => traced.push(`${c.service}/${c.method}${c.error ? " failed" : ""}`);
    const client = instrumentClient(
      {
        fast: async () => "ok",
        broken: async () => {
          throw new Error("boom");
        },
      },
      "Svc",
      recorder,
    );
    expect(await client.fast()).toBe("ok");
    await expect(client.broken()).rejects.toThrow("boom");
    const snap = Object.fromEntries(recorder.snapshot());
    expect(snap["Svc/fast"]).toMatchObject({ count: 1, errors: 0 });
    expect(snap["Svc/broken"]).toMatchObject({ count: 1, errors: 1 });
    // a call of well under 10 s is in every bucket from 10 s up
    expect(snap["Svc/fast"]!.buckets.at(-1)).toBe(1);
    expect(traced).toEqual(["Svc/fast", "Svc/broken failed"]);
  });
});

describe("accelerator from QEMU's command line", () => {
  it("reads -accel, -machine accel= and -enable-kvm", () => {
    expect(accelFromArgv(["qemu", "-accel", "tcg,thread=multi"])).toBe("tcg");
    expect(accelFromArgv(["qemu", "-machine", "q35,accel=kvm"])).toBe("kvm");
    expect(accelFromArgv(["qemu", "-enable-kvm"])).toBe("kvm");
    expect(accelFromArgv(["qemu"])).toBe("");
  });
});
