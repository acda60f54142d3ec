/**
 * Agent RPC instrumentation: every call the shim makes to the agent is timed into a per-method
 * latency histogram (the admin endpoint's Metrics) and handed to a tracer (the shim logs each
 * call with its duration at debug). The shim holds one agent channel, so one process-wide
 * recorder (`agentRpcLatency`) serves it; tests make their own.
 */

/** Upper bounds (seconds) of the histogram buckets; +Inf is implied. */
export const LATENCY_BUCKETS_SECONDS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
] as const;

export interface MethodLatency {
  /** Cumulative counts per bucket of LATENCY_BUCKETS_SECONDS (Prometheus `le` semantics). */
  buckets: number[];
  count: number;
  sumSeconds: number;
  errors: number;
}

export interface RpcCall {
  service: string;
  method: string;
  durationMs: number;
  /** The error's message when the call failed. */
  error?: string;
}

export class RpcLatency {
  private readonly methods = new Map<string, MethodLatency>();
  /** Told of every finished call (the shim's debug trace). */
  tracer: ((call: RpcCall) => void) | undefined;

  record(call: RpcCall): void {
    const key = `${call.service}/${call.method}`;
    let m = this.methods.get(key);
    if (!m) {
      m = { buckets: LATENCY_BUCKETS_SECONDS.map(() => 0), count: 0, sumSeconds: 0, errors: 0 };
      this.methods.set(key, m);
    }
    const seconds = call.durationMs / 1000;
    LATENCY_BUCKETS_SECONDS.forEach((le, i) => {
      if (seconds <= le) m.buckets[i]!++;
    });
    m.count++;
    m.sumSeconds += seconds;
    if (call.error !== undefined) m.errors++;
    this.tracer?.(call);
  }

  /** "service/method" → its histogram, sorted by name. */
  snapshot(): [string, MethodLatency][] {
    return [...this.methods.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, { ...v, buckets: [...v.buckets] }]);
  }
}

/** The shim's one recorder of agent calls. */
export const agentRpcLatency = new RpcLatency();

/** The same client whose every method call is timed into `recorder`. */
export function instrumentClient<T extends object>(client: T, service: string, recorder: RpcLatency): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(client)) {
    if (typeof fn !== "function") {
      wrapped[name] = fn;
      continue;
    }
    wrapped[name] = async (...args: unknown[]) => {
      const started = performance.now();
      try {
        const result: unknown = await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
        recorder.record({ service, method: name, durationMs: performance.now() - started });
        return result;
      } catch (err) {
        recorder.record({
          service,
          method: name,
          durationMs: performance.now() - started,
          error: (err as Error).message ?? String(err),
        });
        throw err;
      }
    };
  }
  return wrapped as T;
}
