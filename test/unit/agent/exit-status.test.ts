import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeWaitStatus, exitStatusOf, isValidSignal } from "../../../agent/process/exit-status.js";
import { orphanZombies, Reaper } from "../../../agent/process/reaper.js";
import type { WaitResult } from "../../../native/process.js";

describe("exit status", () => {
  it.each([
    [0x0000, { kind: "exited", code: 0 }, 0],
    [0x0100, { kind: "exited", code: 1 }, 1],
    [0x2a00, { kind: "exited", code: 42 }, 42],
    [0x0009, { kind: "signaled", signal: 9 }, 137],
    [0x008f & 0x7f, { kind: "signaled", signal: 15 }, 143],
    [0x0086, { kind: "signaled", signal: 6 }, 134], // core dumped flag (0x80) is ignored
  ])("raw %i decodes and maps", (raw, termination, status) => {
    expect(decodeWaitStatus(raw)).toEqual(termination);
    expect(exitStatusOf(decodeWaitStatus(raw))).toBe(status);
  });

  it("accepts signals 1..64 only", () => {
    expect([0, 1, 9, 64, 65, -1, 1.5].map(isValidSignal)).toEqual([
      false,
      true,
      true,
      true,
      false,
      false,
      false,
    ]);
  });
});

describe("Reaper", () => {
  it("resolves every watcher of a pid once it is reaped; never asks about other pids", async () => {
    const asked: number[] = [];
    let state: WaitResult = { kind: "running" };
    const reaper = new Reaper({
      wait: (pid) => {
        asked.push(pid);
        return state;
      },
    });
    const a = reaper.watch(77);
    const b = reaper.watch(77);
    reaper.sweep();
    expect(reaper.isWatched(77)).toBe(true);
    state = { kind: "reaped", status: 0x2a00 };
    reaper.sweep();
    const [ea, eb] = await Promise.all([a, b]);
    expect(ea.termination).toEqual({ kind: "exited", code: 42 });
    expect(eb).toBe(ea);
    expect(new Set(asked)).toEqual(new Set([77]));
    expect(reaper.isWatched(77)).toBe(false);
  });

  it("a pid that is no longer our child is reported as killed", async () => {
    const reaper = new Reaper({ wait: () => ({ kind: "gone" }) });
    expect((await reaper.watch(5)).termination).toEqual({ kind: "signaled", signal: 9 });
  });

  it("finds only zombie children from nested pid namespaces", () => {
    // this test process has no such children: the scan answers with none
    expect(orphanZombies(process.pid)).toEqual([]);
  });
});

describe("orphan zombie scan", () => {
  it("picks zombie children from a nested pid namespace or a container cgroup, nothing else", () => {
    const proc = mkdtempSync(join(tmpdir(), "fake-proc-"));
    const entry = (pid: number, state: string, ppid: number, nspid: string, cgroup: string) => {
      mkdirSync(join(proc, String(pid)));
      writeFileSync(
        join(proc, String(pid), "status"),
        `Name:\tx\nState:\t${state} (x)\nPPid:\t${ppid}\nNSpid:\t${nspid}\n`,
      );
      writeFileSync(join(proc, String(pid), "cgroup"), `0::${cgroup}\n`);
    };
    entry(10, "Z", 1, "10\t1", "/"); // nested pid namespace
    entry(11, "Z", 1, "11", "/tskata/c1"); // container sharing the guest pid namespace
    entry(12, "Z", 1, "12", "/"); // Node's own child (crun): left to Node
    entry(13, "S", 1, "13\t2", "/tskata/c1"); // alive
    entry(14, "Z", 99, "14\t3", "/tskata/c1"); // someone else's child
    mkdirSync(join(proc, "self"));
    expect(orphanZombies(1, "/tskata/", proc).sort()).toEqual([10, 11]);
  });
});
