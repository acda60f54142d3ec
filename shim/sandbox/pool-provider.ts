/**
 * The SandboxProvider used when `[factory] enabled`: ask the warm pool for a booted VM (bounded
 * by factory.acquire_timeout_ms), adopt it and apply the pod's own state; when the pool is absent,
 * empty, its VMs do not fit, or anything on the way fails, boot cold exactly as without a pool.
 * The pool is an optimisation: it never makes a pod fail.
 */
import type { Logger } from "pino";
import type { PodSandbox, SandboxProvider, SandboxStartRequest } from "./provider.js";
import { coldBootProvider } from "./sandbox.js";

export class PoolProvider implements SandboxProvider {
  constructor(private readonly fallback: SandboxProvider = coldBootProvider) {}

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
    const { config, spec, size } = request;
    if (spec.netnsPath) {
      // a pooled VM has no NIC and NIC hotplug is not implemented yet (docs/pool.md)
      log.info("warm pool: the pod has a network namespace; booting cold");
      return undefined;
    }
    const t0 = performance.now();
    // loaded only when the pool is used: gRPC costs a cold shim's start-up nothing
    const [
      { GrpcCallError },
      { adoptPooledVm },
      { imageIdentity },
      { connectPool },
      { fromWire },
      { AdoptedSandbox },
    ] = await Promise.all([
      import("../../protocol/grpc/client.js"),
      import("../pool/adopt-vm.js"),
      import("../pool/image-identity.js"),
      import("../pool/pool-client.js"),
      import("../pool/wire.js"),
      import("./adopted-sandbox.js"),
    ]);
    const client = connectPool(config.factory.socketPath, config.factory.acquireTimeoutMs);
    try {
      let wire: Awaited<ReturnType<typeof client.api.acquire>>;
      try {
        wire = await client.api.acquire({
          shape: { memoryMib: size.memoryMib, vcpus: size.vcpus },
          imageIdentity: imageIdentity(config),
          requester: spec.id,
          requesterPid: process.pid,
        });
      } catch (err) {
        const why = err instanceof GrpcCallError ? err.message : String(err);
        log.info({ reason: why }, "warm pool: no VM; booting cold");
        return undefined;
      }
      if (!wire.vm) return undefined;
      const d = fromWire(wire.vm);
      request.timeline?.mark("pool-acquire");
      const vm = await adoptPooledVm(d, config, spec.id, log);
      request.timeline?.mark("pool-adopt");
      try {
        // cut the VM's tie to the pool: from here the VM is ours whatever happens to the pool
        await client.api.release({ leaseId: d.leaseId, adopted: true }, { timeoutMs: 5000 });
      } catch (err) {
        await vm.stop({ timeoutMs: 1000 });
        throw err;
      }
      request.timeline?.mark("pool-release");
      const acquiredMs = performance.now() - t0;
      const sandbox = await AdoptedSandbox.start({
        spec,
        vm,
        size,
        poolVmId: d.id,
        dialTimeoutMs: config.agent.dialTimeoutMs,
        log,
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
        },
        "sandbox ready (adopted from the warm pool)",
      );
      return sandbox;
    } finally {
      client.close();
    }
  }
}
