/**
 * How a failed command reports, as runc does: the error as a log entry (in --log, in
 * --log-format text or json; on stderr when there is no --log) and its plain message on stderr.
 */
import { appendFileSync } from "node:fs";

export function logLine(format: string, level: string, msg: string, now = new Date()): string {
  if (format === "json") return `${JSON.stringify({ level, msg, time: now.toISOString() })}\n`;
  return `time="${now.toISOString()}" level=${level} msg=${JSON.stringify(msg)}\n`;
}

export function reportError(message: string, opts: { log: string | undefined; logFormat: string }): void {
  const line = logLine(opts.logFormat, "error", message);
  if (opts.log) {
    try {
      appendFileSync(opts.log, line);
    } catch {
      process.stderr.write(line);
    }
  } else process.stderr.write(line);
  process.stderr.write(`${message}\n`);
}
