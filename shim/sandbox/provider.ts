/**
 * Where a pod's VM comes from, as the task layer sees it: a provider turns a SandboxSpec into a
 * running PodSandbox (VM + agent ready + CreateSandbox done). The cold-boot provider boots one;
 * a warm pool can hand one over; tests hand in a fake whose agent runs in-process.
 */
import type { Logger } from "pino";
import type { AgentApi, HealthApi } from "../agent-client/agent-client.js";
import type { MachineType, TskataConfig } from "../config/types.js";
import type { VmExit } from "../hypervisor/hypervisor.js";
import type { Timeline } from "../timeline/timeline.js";
import type { SandboxSpec } from "./sandbox-spec.js";
import type { VmSize } from "./sizing.js";

export interface PodSandbox {
  readonly id: string;
  /** The agent API inside the VM. */
  readonly agent: AgentApi;
  /** The agent's Health service (the admin endpoint times its round trip); absent in some fakes. */
  readonly health?: HealthApi;
  /** Host directory the guest sees as its shared filesystem. */
  readonly sharedDir: string;
  /** Resolves once the VM is gone, whatever the reason; never rejects. */
  readonly exited: Promise<VmExit>;
  /** Memory and vCPUs the VM has now. */
  readonly size: VmSize;
  /** Grows the VM to at least `target` (hotplug); never shrinks. Resolves with the new size. */
  resize(target: VmSize): Promise<VmSize>;
  /** Tears the sandbox down and releases everything it holds on the host. Idempotent. */
  stop(): Promise<unknown>;
  /**
   * Plugs in the network a host hook configured in the VM's own netns (SandboxSpec.hookNetwork);
   * absent where a sandbox cannot (fakes).
   */
  plugHookNetwork?(machineType: MachineType): Promise<void>;
}

export interface SandboxStartRequest {
  spec: SandboxSpec;
  config: TskataConfig;
  /** The VM's size at boot. */
  size: VmSize;
  log: Logger;
  /** Start-up phases are marked here as they end (absent: not recorded). */
  timeline?: Timeline;
}

export interface SandboxProvider {
  /** Starts the sandbox; on failure nothing it started is left behind. */
  start(request: SandboxStartRequest): Promise<PodSandbox>;
}
