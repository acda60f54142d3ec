/**
 * The pool: keeps `pool_size` booted idle VMs, refilling one boot at a time in the background
 * while the host's MemAvailable stays above the floor; hands an idle VM out on a lease and
 * forgets it once the shim confirms the adoption (the tie is cut), or stops it when the lease
 * expires or the shim declines it. A VM that died or fails its health check is never handed out.
 */
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { TskataConfig } from "../config/types.js";
import { isAlive, type ProcessIdentity, terminate } from "../hypervisor/process-identity.js";
import { hostMemAvailableMib } from "../hypervisor/qemu/plan.js";
import { SandboxResources } from "../hypervisor/sandbox-resources.js";
import { PoolError } from "./errors.js";
import { imageIdentity } from "./image-identity.js";
import { PooledVm, type PooledVmDescription, type PoolVm } from "./pooled-vm.js";
import { pssKiB } from "./process-memory.js";
import type { TieRegistry } from "./tie-registry.js";
import { misfit, poolVmConfig, type Shape } from "./vm-shape.js";

export const DEFAULT_LEASE_MS = 20_000;
const REFILL_RETRY_MS = 5_000;
const MEMORY_RECHECK_MS = 2_000;

export interface Lease {
  leaseId: string;
  leaseMs: number;
  vm: PooledVmDescription;
}

export interface VmReport {
  id: string;
  state: "booting" | "idle" | "leased" | "adopted";
  shape: Shape;
  qemuPid: number;
  virtiofsdPid: number;
  pssKiB: number;
  owner: string;
  ageMs: number;
}

export interface PoolReport {
  poolSize: number;
  shape: Shape;
  imageIdentity: string;
  vms: VmReport[];
  hostMemAvailableMib: number;
  minHostAvailableMib: number;
  refill: string;
}

interface LeaseEntry {
  vm: PoolVm;
  owner: string;
  timer: NodeJS.Timeout;
}

interface Adopted {
  description: PooledVmDescription;
  owner: string;
  since: number;
}

export interface WarmPoolOptions {
  config: TskataConfig;
  registry: TieRegistry;
  log: Logger;
  leaseMs?: number;
  /** Bound on a freshly booted VM's first Health.Check answer. */
  agentTimeoutMs?: number;
  /** Boots one idle VM (default: PooledVm.boot with the pool's VM configuration). */
  bootVm?: (id: string) => Promise<PoolVm>;
}

export class WarmPool {
  readonly identity: string;
  private readonly vmConfig: TskataConfig;
  private readonly bootVm: (id: string) => Promise<PoolVm>;
  private readonly idle: PoolVm[] = [];
  private readonly leases = new Map<string, LeaseEntry>();
  private readonly adopted: Adopted[] = [];
  private booting: { id: string; since: number } | undefined;
  /** When the last VM was handed out (factory.refill_delay_ms counts from it). */
  private handedOutAt = 0;
  private refillNote = "starting";
  private running = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly opts: WarmPoolOptions) {
    this.vmConfig = poolVmConfig(opts.config);
    this.identity = imageIdentity(opts.config);
    this.bootVm =
      opts.bootVm ?? ((id) => PooledVm.boot(this.vmConfig, id, this.identity, opts.log, opts.agentTimeoutMs));
  }

  get size(): number {
    return this.opts.config.factory.poolSize;
  }

  get shape(): Shape {
    return { memoryMib: this.vmConfig.hypervisor.memoryMib, vcpus: this.vmConfig.hypervisor.vcpus };
  }

  start(): void {
    this.running = true;
    this.loop = this.refillLoop();
  }

  /** Stops refilling and stops every VM still tied to the pool (booting, idle, leased). */
  async shutdown(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    for (const [leaseId, entry] of this.leases) {
      clearTimeout(entry.timer);
      this.leases.delete(leaseId);
      await this.stopLeased(entry.vm);
    }
    for (const vm of this.idle.splice(0)) await this.discard(vm, "pool stopping");
  }

  /** Hands out the first healthy idle VM that fits; VMs found unusable on the way are stopped. */
  async acquire(wanted: Shape, identity: string, owner: string): Promise<Lease> {
    if (identity !== this.identity) {
      throw new PoolError(
        "POOL_NO_FIT",
        `the pool boots another kernel/image (identity ${this.identity}, asked ${identity})`,
      );
    }
    if (this.idle.length === 0) {
      this.wake?.();
      throw new PoolError("POOL_EMPTY", this.booting ? "no idle VM yet (one is booting)" : "no idle VM");
    }
    // every idle VM has the same shape and ceilings
    const why = misfit(this.idle[0]!.description.maxShape, wanted);
    if (why) throw new PoolError("POOL_NO_FIT", why);
    for (;;) {
      const vm = this.idle.shift();
      if (!vm) throw new PoolError("POOL_EMPTY", "no healthy idle VM");
      const bad = await vm.unusable();
      if (bad) {
        this.opts.log.warn({ vm: vm.id, reason: bad }, "idle VM unusable: discarded, not handed out");
        await this.discard(vm, bad);
        // refill now, not when the loop's idle timer (a minute) next looks
        this.wake?.();
        continue;
      }
      await vm.handOut();
      this.handedOutAt = Date.now();
      const leaseId = randomBytes(8).toString("hex");
      const leaseMs = this.opts.leaseMs ?? DEFAULT_LEASE_MS;
      const timer = setTimeout(() => void this.expire(leaseId), leaseMs);
      this.leases.set(leaseId, { vm, owner, timer });
      this.opts.log.info({ vm: vm.id, owner, leaseId }, "VM leased");
      this.wake?.();
      return { leaseId, leaseMs, vm: vm.description };
    }
  }

  /** adopted: cut the tie and forget the VM; else stop it. */
  async release(leaseId: string, adopted: boolean): Promise<void> {
    const entry = this.leases.get(leaseId);
    if (!entry) throw new PoolError("POOL_LEASE_UNKNOWN", `no lease ${leaseId} (unknown or expired)`);
    this.leases.delete(leaseId);
    clearTimeout(entry.timer);
    if (adopted) {
      this.opts.registry.untie(entry.vm.id);
      entry.vm.state = "adopted";
      this.adopted.push({ description: entry.vm.description, owner: entry.owner, since: Date.now() });
      this.opts.log.info({ vm: entry.vm.id, owner: entry.owner }, "VM adopted: tie cut");
    } else {
      this.opts.log.info({ vm: entry.vm.id, owner: entry.owner }, "lease declined: stopping the VM");
      await this.stopLeased(entry.vm);
    }
  }

  async report(): Promise<PoolReport> {
    const now = Date.now();
    const vms: VmReport[] = [];
    if (this.booting)
      vms.push({ ...empty(this.booting.id, "booting", this.shape), ageMs: now - this.booting.since });
    for (const vm of this.idle) vms.push(await vmReport(vm.description, "idle", "", now - vm.bootedAt));
    for (const { vm, owner } of this.leases.values())
      vms.push(await vmReport(vm.description, "leased", owner, now - vm.bootedAt));
    for (let i = this.adopted.length - 1; i >= 0; i--) {
      const a = this.adopted[i]!;
      if (!(await isAlive(a.description.qemu))) {
        this.adopted.splice(i, 1);
        continue;
      }
      vms.push(await vmReport(a.description, "adopted", a.owner, now - a.since));
    }
    return {
      poolSize: this.size,
      shape: this.shape,
      imageIdentity: this.identity,
      vms,
      hostMemAvailableMib: await hostMemAvailableMib(),
      minHostAvailableMib: this.opts.config.factory.minHostAvailableMib,
      refill: this.refillNote,
    };
  }

  private async refillLoop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      if (this.idle.length >= this.size) {
        this.refillNote = "full";
        await this.sleep();
        continue;
      }
      // the replacement waits: the adopted pod starts its containers without a boot beside it
      const delayLeft = this.handedOutAt + this.opts.config.factory.refillDelayMs - Date.now();
      if (delayLeft > 0) {
        this.refillNote = `waiting ${delayLeft} ms after a hand-out (factory.refill_delay_ms)`;
        await this.sleep(delayLeft);
        continue;
      }
      const available = await hostMemAvailableMib();
      const floor = this.opts.config.factory.minHostAvailableMib;
      if (available - this.shape.memoryMib < floor) {
        this.refillNote = `host memory short: ${available} MiB available, a VM of ${this.shape.memoryMib} MiB would leave less than factory.min_host_available_mib = ${floor}`;
        await this.sleep(MEMORY_RECHECK_MS);
        continue;
      }
      this.refillNote = "booting";
      const id = `pool-${randomBytes(5).toString("hex")}`;
      this.booting = { id, since: Date.now() };
      this.opts.registry.tie(id);
      try {
        const vm = await this.bootVm(id);
        this.opts.registry.tie(id, vm.processes);
        failures = 0;
        if (!this.running) {
          await this.discard(vm, "pool stopping");
          break;
        }
        this.idle.push(vm);
        void vm.exited.then(() => this.onIdleExit(vm));
        this.opts.log.info({ vm: id, ms: Date.now() - vm.bootedAt, idle: this.idle.length }, "idle VM ready");
      } catch (err) {
        this.opts.registry.untie(id);
        failures++;
        this.refillNote = `boot failed (${failures} in a row): ${(err as Error).message}`;
        this.opts.log.error({ err, vm: id }, "booting a pool VM failed");
        await this.sleep(Math.min(60_000, REFILL_RETRY_MS * failures));
      } finally {
        this.booting = undefined;
      }
    }
  }

  /** An idle VM died under the pool: QemuVm already released its resources. */
  private onIdleExit(vm: PoolVm): void {
    if (vm.state !== "idle") return;
    const i = this.idle.indexOf(vm);
    if (i >= 0) this.idle.splice(i, 1);
    this.opts.registry.untie(vm.id);
    this.opts.log.warn({ vm: vm.id }, "idle VM died: removed from the pool");
    this.wake?.();
  }

  private async discard(vm: PoolVm, reason: string): Promise<void> {
    vm.state = "adopted"; // no longer idle: its exit is not a pool event
    await vm
      .stop()
      .catch((err: unknown) => this.opts.log.error({ err, vm: vm.id, reason }, "stopping failed"));
    this.opts.registry.untie(vm.id);
  }

  private async expire(leaseId: string): Promise<void> {
    const entry = this.leases.get(leaseId);
    if (!entry) return;
    this.leases.delete(leaseId);
    this.opts.log.warn({ vm: entry.vm.id, owner: entry.owner }, "lease expired: stopping the VM");
    await this.stopLeased(entry.vm);
  }

  /** A handed-out VM is no longer supervised here: stop it by process identity, then its directory. */
  private async stopLeased(vm: PoolVm): Promise<void> {
    await stopProcesses(vm.processes);
    const resources = await SandboxResources.load(this.opts.config.runtime.stateDir, vm.id).catch(
      () => undefined,
    );
    await resources
      ?.teardown()
      .catch((err: unknown) => this.opts.log.error({ err, vm: vm.id }, "cleanup failed"));
    this.opts.registry.untie(vm.id);
  }

  private sleep(ms = 60_000): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }
}

async function stopProcesses(processes: ProcessIdentity[]): Promise<void> {
  for (const p of processes) if (p.startTime) await terminate(p, 500);
}

function empty(id: string, state: VmReport["state"], shape: Shape): VmReport {
  return { id, state, shape, qemuPid: 0, virtiofsdPid: 0, pssKiB: 0, owner: "", ageMs: 0 };
}

async function vmReport(
  d: PooledVmDescription,
  state: VmReport["state"],
  owner: string,
  ageMs: number,
): Promise<VmReport> {
  const pss = (await pssKiB(d.qemu.pid)) + (d.virtiofsd ? await pssKiB(d.virtiofsd.pid) : 0);
  return {
    id: d.id,
    state,
    shape: d.shape,
    qemuPid: d.qemu.pid,
    virtiofsdPid: d.virtiofsd?.pid ?? 0,
    pssKiB: pss,
    owner,
    ageMs,
  };
}
