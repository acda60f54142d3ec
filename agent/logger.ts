import { pino } from "pino";

export type Logger = pino.Logger;

let destination: ReturnType<typeof pino.destination> | undefined;

/**
 * The agent logs JSON lines to stderr, which tini passes on from the kernel's /dev/console:
 * the host captures the console into the sandbox log.
 */
export function createLogger(level: string): Logger {
  destination = pino.destination({ fd: 2, sync: false, minLength: 0 });
  return pino({ level, base: { component: "agent" }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/** Writes out pending log lines now (before poweroff, which never returns). */
export function flushLogsSync(): void {
  try {
    destination?.flushSync();
  } catch {
    // nothing pending, or the console is gone
  }
}
