/** `tskata check` output: one verdict line per check (text), or a JSON document. */
import type { CheckResult } from "./check-result.js";

export interface CheckReport {
  /** false when any check failed (exit status 1). */
  ready: boolean;
  configFile: string | null;
  checks: CheckResult[];
}

export function makeReport(checks: CheckResult[], configFile: string | undefined): CheckReport {
  return { ready: checks.every((c) => c.status !== "fail"), configFile: configFile ?? null, checks };
}

const LABEL = { ok: "ok  ", warn: "warn", fail: "FAIL" } as const;

export function formatText(report: CheckReport): string {
  const width = Math.max(...report.checks.map((c) => c.name.length));
  const lines = report.checks.map((c) => {
    const head = `${LABEL[c.status]}  ${c.name.padEnd(width)}  ${c.detail}`;
    return c.remedy ? `${head}\n${" ".repeat(width + 8)}-> ${c.remedy}` : head;
  });
  const fails = report.checks.filter((c) => c.status === "fail").length;
  const warns = report.checks.filter((c) => c.status === "warn").length;
  const verdict = report.ready
    ? `ready: tskata can run sandboxes on this host (${warns} warning${warns === 1 ? "" : "s"})`
    : `NOT READY: ${fails} required check${fails === 1 ? "" : "s"} failed`;
  return `${lines.join("\n")}\n${verdict}\n`;
}
