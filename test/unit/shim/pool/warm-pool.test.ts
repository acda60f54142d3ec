/**
 * The pool's refill decisions, with test doubles for its VMs (the real boot, adoption and reaping
 * are in test/e2e/warm-pool.test.ts): when a replacement boots after a hand-out
 * (factory.refill_delay_ms), and that a VM found unusable is replaced at once.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { PooledVmDescription, PoolVm } from "../../../../shim/pool/pooled-vm.js";
import { TieRegistry } from "../../../../shim/pool/tie-registry.js";
import { WarmPool } from "../../../../shim/pool/warm-pool.js";
import { configFixture } from "../../../support/config-fixture.js";

const dir = mkdtempSync(join(tmpdir(), "tskata-warm-pool-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const { parse } = configFixture();

/** A VM double: boots at once, usable unless told otherwise, records its stop. */
class FakeVm implements PoolVm {
  state: PoolVm["state"] = "idle";
  readonly bootedAt = Date.now();
  readonly processes = [];
  readonly exited = new Promise<unknown>(() => undefined);
  stopped = false;
  unusableReason: string | undefined;

  constructor(
    readonly id: string,
    readonly description: PooledVmDescription,
  ) {}

  unusable(): Promise<string | undefined> {
    return Promise.resolve(this.unusableReason);
  }

  handOut(): Promise<void> {
    this.state = "leased";
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.stopped = true;
    return Promise.resolve();
  }
}

const pools: WarmPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.shutdown();
});

function startPool(factory: string): { pool: WarmPool; boots: { id: string; at: number; vm: FakeVm }[] } {
  const config = parse(
    `[runtime]\nstate_dir = "${dir}/state"\n[factory]\nenabled = true\npool_size = 1\nmin_host_available_mib = 0\n${factory}`,
  );
  const boots: { id: string; at: number; vm: FakeVm }[] = [];
  const pool = new WarmPool({
    config,
    registry: new TieRegistry(join(dir, `${boots.length}-${Date.now()}.tied.json`)),
    log: pino({ level: "silent" }),
    bootVm: (id) => {
      const vm = new FakeVm(id, {
        id,
        shape: { memoryMib: 512, vcpus: 1 },
        maxShape: { memoryMib: 4096, vcpus: 4 },
        qemu: { pid: 0, startTime: "" },
      } as unknown as PooledVmDescription);
      boots.push({ id, at: Date.now(), vm });
      return Promise.resolve(vm);
    },
  });
  pools.push(pool);
  pool.start();
  return { pool, boots };
}

async function until(what: string, probe: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const wanted = { memoryMib: 512, vcpus: 1 };

describe("the warm pool's refill", () => {
  it("boots the replacement right after a hand-out with refill_delay_ms = 0", async () => {
    const { pool, boots } = startPool("refill_delay_ms = 0\n");
    await until("the first idle VM", () => boots.length === 1);
    const handedOut = Date.now();
    await pool.acquire(wanted, pool.identity, "shim-a");
    await until("the replacement", () => boots.length === 2, 1000);
    expect(boots[1]!.at - handedOut).toBeLessThan(500);
  });

  it("waits factory.refill_delay_ms after a hand-out before booting the replacement", async () => {
    const { pool, boots } = startPool("refill_delay_ms = 800\n");
    await until("the first idle VM", () => boots.length === 1);
    const handedOut = Date.now();
    await pool.acquire(wanted, pool.identity, "shim-a");
    await new Promise((r) => setTimeout(r, 400));
    expect(boots).toHaveLength(1);
    expect((await pool.report()).refill).toMatch(
      /^waiting \d+ ms after a hand-out \(factory.refill_delay_ms\)$/,
    );
    await until("the replacement", () => boots.length === 2, 3000);
    expect(boots[1]!.at - handedOut).toBeGreaterThanOrEqual(800);
  });

  it("replaces an idle VM found unusable at once, not when its idle timer next fires", async () => {
    const { pool, boots } = startPool("");
    // (no hand-out happened: the refill delay does not apply)
    await until("the first idle VM", () => boots.length === 1);
    boots[0]!.vm.unusableReason = "no answer within 2000 ms (QMP or agent hung)";
    await expect(pool.acquire(wanted, pool.identity, "shim-a")).rejects.toMatchObject({ code: "POOL_EMPTY" });
    expect(boots[0]!.vm.stopped).toBe(true);
    await until("the replacement", () => boots.length === 2, 1000);
  });
});
