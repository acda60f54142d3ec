/**
 * A pod's sandbox on the host: its VM and the agent inside it. `startSandbox` boots the VM,
 * connects to the agent, waits for Health.Check and sends CreateSandbox; any failure on the way
 * stops the VM (which releases everything it created) before the error leaves. `stop` asks the
 * agent to destroy the sandbox and power off, bounded by the VM's own stop sequence.
 */
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { Logger } from "pino";
import { AgentClient } from "../agent-client/agent-client.js";
import type { TskataConfig } from "../config/types.js";
import type { VirtualMachine, VmExit } from "../hypervisor/hypervisor.js";
import { QemuHypervisor } from "../hypervisor/qemu/qemu-hypervisor.js";

export interface SandboxOptions {
  id: string;
  hostname?: string;
  dnsServers?: string[];
  dnsSearch?: string[];
  config: TskataConfig;
  log: Logger;
  /** Deadline for the agent's first Health.Check answer after the VM started. */
  agentTimeoutMs?: number;
}

export interface SandboxTimings {
  /** QEMU started (QMP answered) after this many ms. */
  vmStartMs: number;
  /** The agent answered Health.Check after this many ms (from the start call). */
  agentReadyMs: number;
}

export class Sandbox {
  private constructor(
    readonly id: string,
    readonly vm: VirtualMachine,
    readonly client: AgentClient,
    readonly timings: SandboxTimings,
  ) {}

  get agent(): AgentClient["agent"] {
    return this.client.agent;
  }

  get sharedDir(): string {
    return this.vm.sharedDir;
  }

  /** Resolves when the VM is gone, whatever the reason; never rejects. */
  get exited(): Promise<VmExit> {
    return this.vm.exited;
  }

  static async start(opts: SandboxOptions): Promise<Sandbox> {
    const t0 = performance.now();
    const vm = await new QemuHypervisor(opts.config, opts.log).start({ sandboxId: opts.id });
    const vmStartMs = performance.now() - t0;
    let client: AgentClient | undefined;
    try {
      const stream = await vm.agent.connect({ timeoutMs: opts.config.agent.dialTimeoutMs });
      client = new AgentClient(stream);
      await client.waitReady(opts.agentTimeoutMs ?? 120_000);
      const agentReadyMs = performance.now() - t0;
      await client.agent.createSandbox(
        {
          sandboxId: opts.id,
          hostname: opts.hostname ?? "",
          dnsServers: opts.dnsServers ?? [],
          dnsSearch: opts.dnsSearch ?? [],
          hostTime: timestampFromMs(Date.now()),
        },
        { timeoutMs: 30_000 },
      );
      opts.log.info({ vmStartMs, agentReadyMs }, "sandbox ready");
      return new Sandbox(opts.id, vm, client, { vmStartMs, agentReadyMs });
    } catch (err) {
      client?.close();
      await vm.stop();
      throw err;
    }
  }

  /** Destroys the sandbox in the guest, powers the VM off and releases everything. Idempotent. */
  async stop(): Promise<VmExit> {
    const exit = await this.vm.stop({
      requestPoweroff: async () => {
        await this.client.agent.destroySandbox({ poweroff: true }, { timeoutMs: 10_000 });
      },
    });
    this.client.close();
    return exit;
  }
}
