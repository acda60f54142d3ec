/**
 * What the admin endpoint reports on: the shim's sandbox as the task layer runs it, the
 * containers it tracks, the VM's start/death counts and the agent call latencies. The endpoint
 * (admin-endpoint.ts) is the live one; tests build their own.
 */
import type { RpcLatency } from "../agent-client/rpc-latency.js";
import type { Container } from "../task/container.js";
import type { StartedSandbox } from "../task/task-manager.js";
import type { HostFacts } from "./host-facts.js";

export interface AdminSubject {
  /** The shim's sandbox id (the bundle group's). */
  readonly sandboxId: string;
  /** containerd namespace. */
  readonly namespace: string;
  containers(): readonly Container[];
  /** The running sandbox; undefined before it started and after its VM is gone. */
  current(): StartedSandbox | undefined;
  /** When the current sandbox became ready (epoch ms). */
  readonly readyAtMs: number | undefined;
  readonly vmStarts: number;
  /** VMs that died on their own (not stopped). */
  readonly vmDeaths: number;
  readonly latency: RpcLatency;
  hostFacts(stateDir: string, sandboxId: string): Promise<HostFacts>;
}
