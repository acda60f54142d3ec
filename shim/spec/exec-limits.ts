/**
 * Linux's execve(2) limits on a process's arguments and environment, checked on the host before a
 * container or exec is sent to the guest. Past them, the guest's execve fails with E2BIG after
 * crun has already created the container, and the process can only exit 1; refused here, the
 * reason reaches containerd as Create's or Exec's error, naming the offending variable.
 *   - each string (with its NUL) is at most MAX_ARG_STRLEN, 32 pages = 131072 bytes;
 *   - all strings and their pointers together fit in a quarter of the stack limit
 *     (RLIMIT_STACK; the guest's default 8 MiB, or the process's own rlimit).
 */
import { invalid } from "../task/errors.js";

export const MAX_ARG_STRLEN = 131_072;
const DEFAULT_STACK_BYTES = 8 * 1024 * 1024;
const POINTER_BYTES = 8;

interface OciProcessShape {
  args?: unknown;
  env?: unknown;
  rlimits?: unknown;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : [];
}

function stackLimit(rlimits: unknown): number {
  if (!Array.isArray(rlimits)) return DEFAULT_STACK_BYTES;
  const stack = rlimits.find((r) => (r as { type?: unknown })?.type === "RLIMIT_STACK") as
    | { soft?: unknown }
    | undefined;
  const soft = Number(stack?.soft);
  return Number.isFinite(soft) && soft > 0 ? soft : DEFAULT_STACK_BYTES;
}

/** Throws TASK_INVALID naming the argument or variable (or the total) execve would refuse. */
export function checkExecLimits(processSpec: unknown, what: string): void {
  if (typeof processSpec !== "object" || processSpec === null) return;
  const p = processSpec as OciProcessShape;
  const args = strings(p.args);
  const env = strings(p.env);
  let total = 0;
  const each = (s: string, name: () => string) => {
    const bytes = Buffer.byteLength(s) + 1;
    if (bytes > MAX_ARG_STRLEN)
      throw invalid(
        `${what}: ${name()} is ${bytes} bytes; Linux's execve takes at most ${MAX_ARG_STRLEN} bytes per argument or environment string (MAX_ARG_STRLEN), so the process could not start`,
      );
    total += bytes + POINTER_BYTES;
  };
  for (const [i, a] of args.entries()) each(a, () => `process.args[${i}]`);
  for (const [i, e] of env.entries())
    each(
      e,
      () => `environment variable ${JSON.stringify(e.split("=")[0]?.slice(0, 64))} (process.env[${i}])`,
    );
  const limit = Math.floor(stackLimit(p.rlimits) / 4);
  if (total > limit)
    throw invalid(
      `${what}: arguments and environment take ${total} bytes; Linux's execve takes at most ${limit} (a quarter of the ${stackLimit(p.rlimits)}-byte stack limit), so the process could not start`,
    );
}
