/**
 * The host's only speaker of the agent API: one ttrpc connection over the VM's agent channel,
 * typed Health and Agent clients, and the boot-time wait for the agent to answer.
 */
import type { Duplex } from "node:stream";
import { Agent } from "../../protocol/generated/tskata/agent/v1/agent_pb.js";
import {
  type CheckResponse,
  CheckResponse_ServingStatus,
  Health,
} from "../../protocol/generated/tskata/agent/v1/health_pb.js";
import { Client } from "../../protocol/ttrpc/client.js";
import { createClient, type ServiceClient } from "../../protocol/ttrpc/service.js";
import { agentRpcLatency, instrumentClient, type RpcLatency } from "./rpc-latency.js";

export type AgentApi = ServiceClient<typeof Agent>;
export type HealthApi = ServiceClient<typeof Health>;

export class AgentNotReadyError extends Error {
  override readonly name = "AgentNotReadyError";
  readonly code = "AGENT_NOT_READY";
}

export class AgentClient {
  readonly agent: AgentApi;
  readonly health: HealthApi;
  private readonly client: Client;

  /** `latency`: where every call's duration is recorded (default: the shim's one recorder). */
  constructor(stream: Duplex, onClose?: (reason: string) => void, latency: RpcLatency = agentRpcLatency) {
    this.client = new Client(stream, onClose ? { onClose } : {});
    this.agent = instrumentClient(createClient(this.client, Agent), "Agent", latency);
    this.health = instrumentClient(createClient(this.client, Health), "Health", latency);
  }

  get closed(): boolean {
    return this.client.closed;
  }

  /** Waits until Health.Check answers SERVING, within timeoutMs; returns the answer (boot phases). */
  async waitReady(timeoutMs: number): Promise<CheckResponse> {
    const res = await this.health.check({}, { timeoutMs });
    if (res.status !== CheckResponse_ServingStatus.SERVING) {
      throw new AgentNotReadyError(
        `agent answered Health.Check with ${CheckResponse_ServingStatus[res.status]}`,
      );
    }
    return res;
  }

  close(): void {
    this.client.close();
  }
}
