/** Dial-until-deadline loop shared by the transports. */
import { setTimeout as sleep } from "node:timers/promises";
import { TransportError } from "./errors.js";
import type { ConnectOptions } from "./transport.js";

export async function dialWithRetry<T>(
  address: string,
  opts: ConnectOptions,
  attempt: () => Promise<T>,
  retryable: (err: unknown) => boolean,
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let delay = 10;
  let last: unknown;
  for (;;) {
    if (opts.signal?.aborted) {
      throw new TransportError("TRANSPORT_ABORTED", `connect to ${address} aborted: ${reason(opts.signal)}`, {
        cause: opts.signal.reason,
      });
    }
    try {
      return await attempt();
    } catch (err) {
      if (!retryable(err)) {
        throw new TransportError(
          "TRANSPORT_UNAVAILABLE",
          `connect to ${address}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      last = err;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new TransportError(
        "TRANSPORT_TIMEOUT",
        `no connection to ${address} within ${timeoutMs} ms (last error: ${(last as Error)?.message ?? "none"})`,
        { cause: last },
      );
    }
    await sleep(Math.min(delay, left), undefined, { signal: opts.signal }).catch(() => {});
    delay = Math.min(delay * 2, 200);
  }
}

function reason(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  return r instanceof Error ? r.message : String(r);
}
