/**
 * A start-up timeline: named marks on one wall clock (ms since the epoch, sub-ms precision),
 * each the end of the phase it names; a phase lasts from the mark before it. Host phases are
 * marked as they end; guest phases (reported as guest uptimes) are placed on the host clock
 * through one reference point (the Health.Check answer). Logged one debug line per phase and
 * one info summary; bench:ctr parses the debug lines back (parsePhaseLine).
 */
import type { Logger } from "pino";

export interface TimelineMark {
  phase: string;
  /** ms since the epoch. */
  atMs: number;
}

export interface TimelinePhase {
  phase: string;
  /** How long the phase took: from the previous mark (or the origin) to this one. */
  durationMs: number;
  /** When it ended, in ms from the origin. */
  endMs: number;
}

/** A guest boot phase as the agent reports it: guest uptime in seconds when it ended. */
export interface GuestPhase {
  name: string;
  uptimeSeconds: number;
}

/** Wall clock with sub-ms precision, as ms since the epoch. */
export function epochNowMs(): number {
  return performance.timeOrigin + performance.now();
}

export class Timeline {
  private readonly marks: TimelineMark[] = [];
  private readonly logged = new Set<string>();

  /** `originMs`: where the first phase starts (default: now). */
  constructor(
    readonly id: string,
    readonly originMs: number = epochNowMs(),
    private readonly now: () => number = epochNowMs,
  ) {}

  /** Marks the end of `phase` now, or at `atMs` (ms since the epoch). Ignores non-finite times. */
  mark(phase: string, atMs: number = this.now()): void {
    if (!Number.isFinite(atMs)) return;
    this.marks.push({ phase, atMs });
  }

  /**
   * Places guest phases on the host clock: the guest answered at `answeredUptimeSeconds` of
   * its uptime, which the host saw at `answeredAtMs`. Phase `kernel` ends at the first guest
   * mark; the guest's clock start (uptime 0) is marked as `firmware` (QEMU start → kernel).
   */
  markGuest(phases: readonly GuestPhase[], answeredUptimeSeconds: number, answeredAtMs: number): void {
    if (phases.length === 0 || !Number.isFinite(answeredUptimeSeconds)) return;
    const hostAt = (uptime: number) => answeredAtMs - (answeredUptimeSeconds - uptime) * 1000;
    this.mark("firmware", hostAt(0));
    for (const p of phases) this.mark(`guest-${p.name}`, hostAt(p.uptimeSeconds));
  }

  has(phase: string): boolean {
    return this.marks.some((m) => m.phase === phase);
  }

  /** Phases in time order; a phase's duration runs from the previous mark (or the origin). */
  phases(): TimelinePhase[] {
    const sorted = [...this.marks].sort((a, b) => a.atMs - b.atMs);
    let previous = this.originMs;
    return sorted.map((m) => {
      const from = Math.max(previous, this.originMs);
      previous = Math.max(previous, m.atMs);
      return { phase: m.phase, durationMs: Math.max(0, m.atMs - from), endMs: m.atMs - this.originMs };
    });
  }

  /** ms from the origin to the latest mark. */
  get totalMs(): number {
    const last = Math.max(this.originMs, ...this.marks.map((m) => m.atMs));
    return last - this.originMs;
  }

  /** "phase 12 ms, phase 340 ms, …" */
  summary(): string {
    return this.phases()
      .map((p) => `${p.phase} ${Math.round(p.durationMs)} ms`)
      .join(", ");
  }

  /** One debug line per phase not logged before, in the format parsePhaseLine reads. */
  logPhases(log: Logger): void {
    for (const p of this.phases()) {
      const key = `${p.phase}@${p.endMs}`;
      if (this.logged.has(key)) continue;
      this.logged.add(key);
      log.debug(
        { timeline: this.id, phase: p.phase, ms: round1(p.durationMs), atMs: round1(p.endMs) },
        phaseLine(this.id, p),
      );
    }
  }

  /** The info summary (and the debug lines before it). */
  logSummary(log: Logger, what: string): void {
    this.logPhases(log);
    log.info(
      { timeline: this.id, totalMs: Math.round(this.totalMs) },
      `timeline ${this.id}: ${what} in ${Math.round(this.totalMs)} ms: ${this.summary()}`,
    );
  }
}

function round1(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** The text of one phase line: `timeline ID phase NAME MS ms at END ms`. */
export function phaseLine(id: string, p: TimelinePhase): string {
  return `timeline ${id} phase ${p.phase} ${round1(p.durationMs)} ms at ${round1(p.endMs)} ms`;
}

const PHASE_LINE = /timeline (\S+) phase (\S+) ([\d.]+) ms at (-?[\d.]+) ms/;

/** Reads a phase line back (anywhere in a log line, e.g. containerd's copy of the shim log). */
export function parsePhaseLine(line: string): ({ id: string } & TimelinePhase) | undefined {
  const m = PHASE_LINE.exec(line);
  if (!m) return undefined;
  return { id: m[1]!, phase: m[2]!, durationMs: Number(m[3]), endMs: Number(m[4]) };
}
