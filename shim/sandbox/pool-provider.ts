/**
 * The SandboxProvider used when `[factory] enabled`: ask the warm pool for a booted VM (bounded
 * by factory.acquire_timeout_ms), adopt it and apply the pod's own state; when the pool is absent,
 * empty, its VMs do not fit, or anything on the way fails, boot cold exactly as without a pool.
 * A pod with a network namespace (CRI) gets its NICs after adoption: the taps are attached in
 * the pod netns as for a cold boot, then hotplugged into the adopted QEMU (fds passed over QMP),
 * and the guest network is configured as the cold path does (adopted-sandbox.ts).
 * The pool is an optimisation: it never makes a pod fail.
 */
import type { Logger } from "pino";
import { attachPodNetwork, type PodNetwork } from "../network/index.js";
import type { PodSandbox, SandboxProvider, SandboxStartRequest } from "./provider.js";
import { coldBootProvider } from "./sandbox.js";
import { detachLogged } from "./vm-sandbox.js";

/** Loaded only when the pool is used: gRPC costs a cold shim's start-up nothing. */
async function loadPoolModules() {
  const [
    { GrpcCallError },
    { adoptPooledVm },
    { imageIdentity },
    { connectPool },
    { fromWire },
    { AdoptedSandbox },
    { nicHotplugSupport },
  ] = await Promise.all([
    import("../../protocol/grpc/client.js"),
    import("../pool/adopt-vm.js"),
    import("../pool/image-identity.js"),
    import("../pool/pool-client.js"),
    import("../pool/wire.js"),
    import("./adopted-sandbox.js"),
    import("../hypervisor/qemu/nic-hotplug.js"),
  ]);
  return {
    GrpcCallError,
    adoptPooledVm,
    imageIdentity,
    connectPool,
    fromWire,
    AdoptedSandbox,
    nicHotplugSupport,
  };
}
export type PoolModules = Awaited<ReturnType<typeof loadPoolModules>>;

/** What the provider reaches the pool and the pod network with (tests hand in fakes). */
export interface PoolProviderParts {
  loadPoolModules: () => Promise<PoolModules>;
  attachPodNetwork: typeof attachPodNetwork;
}

export class PoolProvider implements SandboxProvider {
  constructor(
    private readonly fallback: SandboxProvider = coldBootProvider,
    private readonly parts: PoolProviderParts = { loadPoolModules, attachPodNetwork },
  ) {}

  async start(request: SandboxStartRequest): Promise<PodSandbox> {
    const log = request.log.child({ sandboxId: request.spec.id });
    if (request.config.factory.enabled) {
      const adopted = await this.adopt(request, log).catch((err: unknown) => {
        log.warn({ err }, "warm pool: adoption failed; booting cold");
        return undefined;
      });
      if (adopted) return adopted;
    }
    return this.fallback.start(request);
  }

  private async adopt(request: SandboxStartRequest, log: Logger): Promise<PodSandbox | undefined> {
    const { config, spec } = request;
    const t0 = performance.now();
    const m = await this.parts.loadPoolModules();
    const machineType = config.hypervisor.machineType;
    if (spec.netnsPath && m.nicHotplugSupport(machineType) === "none") {
      log.info({ machineType }, "warm pool: this machine type cannot hotplug the pod's NICs; booting cold");
      return undefined;
    }
    return this.adoptVm(request, log, m, t0);
  }

  /**
   * Acquire, adopt, attach and plug the pod's NICs, cut the tie, apply the pod's state; undefined:
   * no VM. The taps are made only once a VM is adopted: a pool miss costs a cold pod nothing.
   */
  private async adoptVm(
    request: SandboxStartRequest,
    log: Logger,
    m: PoolModules,
    t0: number,
  ): Promise<PodSandbox | undefined> {
    const { config, spec, size } = request;
    const client = m.connectPool(config.factory.socketPath, config.factory.acquireTimeoutMs);
    try {
      let wire: Awaited<ReturnType<typeof client.api.acquire>>;
      try {
        wire = await client.api.acquire({
          shape: { memoryMib: size.memoryMib, vcpus: size.vcpus },
          imageIdentity: m.imageIdentity(config),
          requester: spec.id,
          requesterPid: process.pid,
        });
      } catch (err) {
        const why = err instanceof m.GrpcCallError ? err.message : String(err);
        log.info({ reason: why }, "warm pool: no VM; booting cold");
        return undefined;
      }
      if (!wire.vm) return undefined;
      const d = m.fromWire(wire.vm);
      request.timeline?.mark("pool-acquire");
      const vm = await m.adoptPooledVm(d, config, spec.id, log);
      request.timeline?.mark("pool-adopt");
      let network: PodNetwork | undefined;
      try {
        if (spec.netnsPath) {
          network = await this.parts.attachPodNetwork(spec.netnsPath, log);
          request.timeline?.mark("pod-network");
          // more interfaces than free NIC ports fails here too (HYPERVISOR_HOTPLUG_FAILED)
          await vm.plugNetwork(network.vmNetwork, config.hypervisor.machineType);
          request.timeline?.mark("nic-hotplug");
        }
        // cut the VM's tie to the pool: from here the VM is ours whatever happens to the pool
        await client.api.release({ leaseId: d.leaseId, adopted: true }, { timeoutMs: 5000 });
      } catch (err) {
        // the VM's teardown also removes the taps plugNetwork recorded; detach covers the rest
        await vm.stop({ timeoutMs: 1000 });
        await detachLogged(network, log);
        throw err;
      }
      request.timeline?.mark("pool-release");
      const acquiredMs = performance.now() - t0;
      const sandbox = await m.AdoptedSandbox.start({
        spec,
        vm,
        size,
        poolVmId: d.id,
        dialTimeoutMs: config.agent.dialTimeoutMs,
        log,
        ...(network ? { network } : {}),
        ...(request.timeline ? { timeline: request.timeline } : {}),
      });
      log.info(
        {
          adopted: true,
          poolVm: d.id,
          acquireMs: Math.round(acquiredMs),
          readyMs: Math.round(performance.now() - t0),
          kind: spec.kind,
          size: sandbox.size,
          nics: network?.nics.length ?? 0,
        },
        "sandbox ready (adopted from the warm pool)",
      );
      return sandbox;
    } finally {
      client.close();
    }
  }
}
