/**
 * A pod's sandbox on a VM adopted from the warm pool: the VM booted in the pool (no boot phase
 * here), so starting it is connecting to its agent, checking Health, sending the pod's
 * CreateSandbox (hostname, DNS) and growing it to the pod's size by hotplug. Stopping and
 * resizing are every VM sandbox's (vm-sandbox.ts).
 */
import type { Logger } from "pino";
import { AgentClient } from "../agent-client/agent-client.js";
import type { QemuVm } from "../hypervisor/qemu/qemu-vm.js";
import type { Timeline } from "../timeline/timeline.js";
import type { SandboxSpec } from "./sandbox-spec.js";
import type { VmSize } from "./sizing.js";
import { createGuestSandbox, VmSandbox } from "./vm-sandbox.js";

export interface AdoptedSandboxOptions {
  spec: SandboxSpec;
  vm: QemuVm;
  /** The pod's size: the VM grows to it when smaller. */
  size: VmSize;
  /** The pool VM's id (its QEMU still carries it in its command line). */
  poolVmId: string;
  dialTimeoutMs: number;
  log: Logger;
  /** Phases marked as they end: health, create-sandbox (no boot phase: the VM booted in the pool). */
  timeline?: Timeline;
}

export class AdoptedSandbox extends VmSandbox {
  private constructor(
    spec: SandboxSpec,
    vm: QemuVm,
    client: AgentClient,
    readonly poolVmId: string,
    size: VmSize,
    log: Logger,
  ) {
    super(spec, vm, client, size, log);
  }

  /** Agent, CreateSandbox, sizing; on failure the VM is stopped before the error leaves. */
  static async start(opts: AdoptedSandboxOptions): Promise<AdoptedSandbox> {
    const { spec, vm, log } = opts;
    let client: AgentClient | undefined;
    try {
      client = new AgentClient(await vm.agent.connect({ timeoutMs: opts.dialTimeoutMs }));
      await client.waitReady(10_000);
      opts.timeline?.mark("health");
      await createGuestSandbox(client, spec, 30_000);
      opts.timeline?.mark("create-sandbox");
      const sandbox = new AdoptedSandbox(spec, vm, client, opts.poolVmId, vm.size, log);
      await sandbox.resize(opts.size);
      return sandbox;
    } catch (err) {
      client?.close();
      await vm.stop({ timeoutMs: 1000 });
      throw err;
    }
  }
}
