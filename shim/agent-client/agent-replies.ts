/**
 * What the host accepts from the agent: the guest is untrusted, so values it reports are checked
 * before they reach containerd. A pid outside what a kernel can hand out is a protocol violation
 * (the call fails); an exit status outside what a process can have is reported as 255 with a log
 * line, since the process did end and a Wait must answer.
 */

/** The kernel's upper bound for pid_max (PID_MAX_LIMIT on 64-bit). */
export const PID_MAX_LIMIT = 4_194_304;

/** Highest status a process can end with: 255 for exit(), 128+64 for the last real-time signal. */
export const MAX_EXIT_STATUS = 255;

export class AgentProtocolError extends Error {
  override readonly name = "AgentProtocolError";
  readonly code = "AGENT_PROTOCOL_VIOLATION";
}

export function checkedPid(pid: number, what: string): number {
  if (!Number.isInteger(pid) || pid < 1 || pid > PID_MAX_LIMIT) {
    throw new AgentProtocolError(`agent reported pid ${pid} for ${what}: not a pid a guest kernel can have`);
  }
  return pid;
}

/** The status to report, and whether the agent's value had to be replaced. */
export function checkedExitStatus(status: number): { status: number; replaced: boolean } {
  return Number.isInteger(status) && status >= 0 && status <= MAX_EXIT_STATUS
    ? { status, replaced: false }
    : { status: MAX_EXIT_STATUS, replaced: true };
}
