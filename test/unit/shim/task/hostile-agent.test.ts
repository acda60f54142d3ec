/**
 * The host treats the agent as untrusted: a guest that answers with malformed or oversized
 * frames, random bytes, lies about pids and exit codes, floods stdout or never answers must not
 * crash the shim, block other containers' calls or grow its memory without bound; every such
 * call ends in a clear error within its deadline. The agent here is a raw ttrpc peer on a unix
 * socket (test/support/hostile-agent.ts) behind the real AgentClient and TaskManager.
 */
import { execFileSync } from "node:child_process";
import { createReadStream, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "../../../../protocol/ttrpc/codes.js";
import { TtrpcError } from "../../../../protocol/ttrpc/errors.js";
import type { OciSpec } from "../../../../shim/spec/guest-spec.js";
import { type HostileAnswer, type HostileCall, startHostileAgent } from "../../../support/hostile-agent.js";
import { createInput, noIo, type TaskFixture, taskFixture } from "../../../support/task-fixture.js";

let fx: TaskFixture;
beforeAll(() => {
  fx = taskFixture();
});
afterAll(() => fx.dispose());

const spec = (args: string[] = ["sleep", "1000"]): OciSpec => ({
  ociVersion: "1.0.2",
  process: { args, cwd: "/", user: { uid: 0, gid: 0 } },
  root: { path: "rootfs" },
});

/** A manager whose VM's agent answers CreateSandbox-era calls as told by `answer`. */
function hostileManager(answer: (call: HostileCall) => HostileAnswer) {
  let agent: Awaited<ReturnType<typeof startHostileAgent>> | undefined;
  const m = fx.manager({
    agent: async () => {
      agent = await startHostileAgent(answer);
      return { agent: agent.client.agent, close: () => agent!.close() };
    },
  });
  return { ...m, agent: () => agent! };
}

/** Answers every call the way an honest agent would, except where `lie` says otherwise. */
function honest(lie: (call: HostileCall) => HostileAnswer | undefined) {
  let pid = 200;
  const waits: (() => void)[] = [];
  return (call: HostileCall): HostileAnswer => {
    const l = lie(call);
    if (l) return l;
    switch (call.method) {
      case "CreateContainer":
      case "StartContainer":
        return { kind: "reply", message: { pid: pid++ } };
      case "WaitProcess":
        waits.push(() => undefined);
        return { kind: "silence" };
      case "ReadStdout":
      case "ReadStderr":
        return { kind: "reply", message: { eof: true } };
      default:
        return { kind: "reply", message: {} };
    }
  };
}

function noShares(shared: string): string[] {
  try {
    return readdirSync(shared);
  } catch {
    return [];
  }
}

describe("a hostile agent", () => {
  it("a reply that is not the method's message fails the call by name (DATA_LOSS); nothing of the container stays", async () => {
    const { tasks, provider } = hostileManager(
      honest((c) => (c.method === "CreateContainer" ? { kind: "wrong-type" } : undefined)),
    );
    const err = await tasks.create(createInput("c1", fx.bundle(spec()))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TtrpcError);
    expect((err as TtrpcError).code).toBe(Code.DATA_LOSS);
    expect((err as Error).message).toContain("CreateContainer");
    expect(tasks.size).toBe(0);
    const sb = provider.started[0]!;
    expect(sb.stopped).toBe(true); // the VM opened for it is stopped again
    expect(noShares(sb.sharedDir)).toEqual([]);
  });

  it("an oversized (5 MiB) reply is refused without buffering it, and the connection keeps serving", async () => {
    let first = true;
    const { tasks, agent } = hostileManager(
      honest((c) => {
        if (c.method === "CreateContainer" && first) {
          first = false;
          return { kind: "oversized", bytes: 5 * 1024 * 1024 };
        }
        return undefined;
      }),
    );
    const heapBefore = process.memoryUsage().heapUsed;
    const err = await tasks.create(createInput("c1", fx.bundle(spec()))).catch((e: unknown) => e);
    expect((err as TtrpcError).code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(4 * 1024 * 1024);
    // a second container of the same pod still gets through on a fresh VM
    await tasks.create(createInput("c2", fx.bundle(spec())));
    expect(agent().calls.filter((c) => c.method === "CreateContainer")).toHaveLength(1);
    await tasks.delete("c2", "");
  });

  it("random bytes on the wire end the connection: the call fails UNAVAILABLE at once, the shim stays up", async () => {
    const { tasks } = hostileManager(
      honest((c) => (c.method === "CreateContainer" ? { kind: "garbage-on-wire", bytes: 4096 } : undefined)),
    );
    const t0 = Date.now();
    const err = await tasks.create(createInput("c1", fx.bundle(spec()))).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(err).toBeInstanceOf(TtrpcError);
    expect([Code.UNAVAILABLE, Code.DATA_LOSS, Code.RESOURCE_EXHAUSTED]).toContain((err as TtrpcError).code);
    expect(tasks.size).toBe(0);
  });

  it.each([
    ["0", 0],
    ["beyond pid_max", 0x7fff_ffff],
  ])(
    "a pid of %s is refused as a protocol violation, the container removed in the guest",
    async (_what, pid) => {
      const { tasks, agent } = hostileManager(
        honest((c) => (c.method === "CreateContainer" ? { kind: "reply", message: { pid } } : undefined)),
      );
      const err = await tasks.create(createInput("c1", fx.bundle(spec()))).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/agent reported pid \d+ for container c1/);
      expect(tasks.size).toBe(0);
      expect(agent().calls.map((c) => c.method)).toContain("RemoveContainer");
    },
  );

  it("an impossible exit status is reported as 255, never as a number containerd cannot hold", async () => {
    const { tasks } = hostileManager(
      honest((c) =>
        c.method === "WaitProcess" ? { kind: "reply", message: { exitStatus: 0xffff_ffff } } : undefined,
      ),
    );
    await tasks.create(createInput("c1", fx.bundle(spec())));
    await tasks.start("c1", "");
    expect((await tasks.wait("c1", "")).status).toBe(255);
    await tasks.delete("c1", "");
  });

  it("an agent that never answers one container's call does not block another container's calls", async () => {
    const { tasks } = hostileManager(
      honest((c) =>
        c.method === "CreateContainer" && c.request["containerId"] === "stuck"
          ? { kind: "silence" }
          : undefined,
      ),
    );
    await tasks.create(createInput("first", fx.bundle(spec())));
    const stuck = tasks.create(createInput("stuck", fx.bundle(spec()))).catch((e: unknown) => e);
    const t0 = Date.now();
    await tasks.create(createInput("other", fx.bundle(spec())));
    await tasks.start("other", "");
    expect(Date.now() - t0).toBeLessThan(2000);
    await tasks.kill("other", "", 9, false).catch(() => undefined);
    void stuck;
  });

  it("a flood of stdout is pulled only as fast as the reader takes it: shim memory stays bounded", async () => {
    const fifo = join(fx.work, `flood-${process.pid}.fifo`);
    execFileSync("mkfifo", [fifo]);
    const { tasks, agent } = hostileManager(
      honest((c) =>
        c.method === "ReadStdout"
          ? { kind: "reply", message: { data: new Uint8Array(1024 * 1024) } }
          : undefined,
      ),
    );
    // a slow reader: 64 KiB every 100 ms
    const reader = createReadStream(fifo, { highWaterMark: 64 * 1024 });
    let read = 0;
    reader.on("data", (chunk: Buffer | string) => {
      read += chunk.length;
      reader.pause();
      setTimeout(() => reader.resume(), 100);
    });
    const heapBefore = process.memoryUsage().heapUsed;
    await tasks.create(createInput("flood", fx.bundle(spec()), { ...noIo, stdout: fifo }));
    await new Promise((r) => setTimeout(r, 2000));
    const reads = agent().calls.filter((c) => c.method === "ReadStdout").length;
    const offered = reads * 1024 * 1024;
    expect(read).toBeGreaterThan(0);
    // pulled at most a few MiB beyond what the reader took (pipe, stream and one reply in flight)
    expect(offered - read).toBeLessThan(8 * 1024 * 1024);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(32 * 1024 * 1024);
    reader.destroy();
    await tasks.destroy();
  });

  it("empty non-EOF stdout replies (a guest that does not long-poll) are backed off, not spun on", async () => {
    const { tasks, agent } = hostileManager(
      honest((c) =>
        c.method === "ReadStdout" ? { kind: "reply", message: { data: new Uint8Array() } } : undefined,
      ),
    );
    const sink = join(fx.work, "empty-replies.out");
    await tasks.create(createInput("idle", fx.bundle(spec()), { ...noIo, stdout: `file://${sink}` }));
    await new Promise((r) => setTimeout(r, 2000));
    expect(agent().calls.filter((c) => c.method === "ReadStdout").length).toBeLessThan(40);
    await tasks.destroy();
  });
});
