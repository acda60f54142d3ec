/** How a process ended, decoded from a waitpid(2) status. */
export type Termination = { kind: "exited"; code: number } | { kind: "signaled"; signal: number };

/** Decodes a raw wait status (WIFEXITED / WIFSIGNALED). */
export function decodeWaitStatus(status: number): Termination {
  const signal = status & 0x7f;
  if (signal === 0) return { kind: "exited", code: (status >> 8) & 0xff };
  return { kind: "signaled", signal };
}

/** The status the runtime reports: the exit code, or 128 + the signal number. */
export function exitStatusOf(t: Termination): number {
  return t.kind === "exited" ? t.code : 128 + t.signal;
}

/** The highest signal number Linux delivers (SIGRTMAX). */
export const MAX_SIGNAL = 64;

export function isValidSignal(signal: number): boolean {
  return Number.isInteger(signal) && signal >= 1 && signal <= MAX_SIGNAL;
}
