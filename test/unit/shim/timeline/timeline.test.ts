import pino from "pino";
import { describe, expect, it } from "vitest";
import { parsePhaseLine, Timeline } from "../../../../shim/timeline/timeline.js";

/** A clock the test moves by hand (epoch ms). */
function clock(start: number) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe("Timeline", () => {
  it("each phase lasts from the previous mark (or the origin) to its own", () => {
    const c = clock(1000);
    const t = new Timeline("c1", 1000, c.now);
    c.advance(5);
    t.mark("config");
    c.advance(120);
    t.mark("qemu-spawn");
    expect(t.phases()).toEqual([
      { phase: "config", durationMs: 5, endMs: 5 },
      { phase: "qemu-spawn", durationMs: 120, endMs: 125 },
    ]);
    expect(t.totalMs).toBe(125);
    expect(t.summary()).toBe("config 5 ms, qemu-spawn 120 ms");
  });

  it("orders marks by time, so phases marked late (guest phases) fall into place", () => {
    const t = new Timeline("c1", 0, () => 0);
    t.mark("health", 7000);
    t.mark("qmp-ready", 200);
    // the guest answered Health at uptime 5.0 s when the host clock read 7000
    t.markGuest(
      [
        { name: "initramfs", uptimeSeconds: 1.5 },
        { name: "agent-listening", uptimeSeconds: 4.9 },
      ],
      5.0,
      7000,
    );
    expect(t.phases().map((p) => [p.phase, p.durationMs])).toEqual([
      ["qmp-ready", 200],
      ["firmware", 1800],
      ["guest-initramfs", 1500],
      ["guest-agent-listening", 3400],
      ["health", 100],
    ]);
  });

  it("ignores guest phases without an answer uptime and marks that are not numbers", () => {
    const t = new Timeline("c1", 0, () => 0);
    t.markGuest([], 3, 100);
    t.markGuest([{ name: "x", uptimeSeconds: 1 }], Number.NaN, 100);
    t.mark("bad", Number.NaN);
    expect(t.phases()).toEqual([]);
  });

  it("a mark before the origin counts as zero length, not negative", () => {
    const t = new Timeline("c1", 100, () => 100);
    t.mark("early", 50);
    t.mark("late", 150);
    expect(t.phases().map((p) => p.durationMs)).toEqual([0, 50]);
  });

  it("logs one debug line per phase, once, that parsePhaseLine reads back, and an info summary", () => {
    const lines: { level: number; msg: string }[] = [];
    const log = pino(
      { level: "debug" },
      { write: (s: string) => lines.push(JSON.parse(s) as { level: number; msg: string }) },
    );
    const c = clock(0);
    const t = new Timeline("ctr-1", 0, c.now);
    c.advance(12.34);
    t.mark("config");
    t.logPhases(log);
    c.advance(100);
    t.mark("start");
    t.logSummary(log, "container ctr-1 started");
    const debug = lines.filter((l) => l.level === 20).map((l) => l.msg);
    expect(debug).toEqual([
      "timeline ctr-1 phase config 12.3 ms at 12.3 ms",
      "timeline ctr-1 phase start 100 ms at 112.3 ms",
    ]);
    expect(parsePhaseLine(`level=debug msg="${debug[1]}"`)).toEqual({
      id: "ctr-1",
      phase: "start",
      durationMs: 100,
      endMs: 112.3,
    });
    const info = lines.filter((l) => l.level === 30).map((l) => l.msg);
    expect(info).toEqual(["timeline ctr-1: container ctr-1 started in 112 ms: config 12 ms, start 100 ms"]);
    expect(parsePhaseLine("no timeline here")).toBeUndefined();
  });
});
