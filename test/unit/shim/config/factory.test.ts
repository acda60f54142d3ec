import { describe, expect, it } from "vitest";
import { configFixture } from "../../../support/config-fixture.js";

const { parse, issuesOf } = configFixture();

describe("[factory] configuration", () => {
  it("defaults: disabled, 2 idle VMs of the [hypervisor] shape, socket under the state dir", () => {
    const c = parse('[hypervisor]\nmemory_mib = 768\nvcpus = 2\n[runtime]\nstate_dir = "/run/tsk-x"\n');
    expect(c.factory).toEqual({
      enabled: false,
      poolSize: 2,
      memoryMib: 768,
      vcpus: 2,
      socketPath: "/run/tsk-x/pool.sock",
      minHostAvailableMib: 1024,
      acquireTimeoutMs: 2000,
      refillDelayMs: 3000,
    });
  });

  it("takes every key from the file", () => {
    const c = parse(
      '[factory]\nenabled = true\npool_size = 3\nmemory_mib = 256\nvcpus = 1\nsocket_path = "/tmp/p.sock"\nmin_host_available_mib = 0\nacquire_timeout_ms = 500\nrefill_delay_ms = 1500\n',
    );
    expect(c.factory).toEqual({
      enabled: true,
      poolSize: 3,
      memoryMib: 256,
      vcpus: 1,
      socketPath: "/tmp/p.sock",
      minHostAvailableMib: 0,
      acquireTimeoutMs: 500,
      refillDelayMs: 1500,
    });
  });

  it.each([
    ["enabled = 1", "factory.enabled", "must be true or false, got 1"],
    ["pool_size = 0", "factory.pool_size", "must be >= 1, got 0"],
    ["pool_size = 2.5", "factory.pool_size", "must be an integer, got 2.5"],
    ["memory_mib = 32", "factory.memory_mib", "must be 0 (the [hypervisor] value) or >= 64, got 32"],
    ["vcpus = -1", "factory.vcpus", "must be >= 0, got -1"],
    ['socket_path = "pool.sock"', "factory.socket_path", 'must be an absolute path, got "pool.sock"'],
    [`socket_path = "/${"x".repeat(120)}"`, "factory.socket_path", "must be at most 107 bytes"],
    ["min_host_available_mib = -5", "factory.min_host_available_mib", "must be >= 0, got -5"],
    ["acquire_timeout_ms = 10", "factory.acquire_timeout_ms", "must be >= 50, got 10"],
    ["refill_delay_ms = -1", "factory.refill_delay_ms", "must be >= 0, got -1"],
    ["refill_delay_ms = 700000", "factory.refill_delay_ms", "must be <= 600000, got 700000"],
    ["size = 3", "factory.size", "unknown key"],
  ])("refuses %s naming the key", (line, key, message) => {
    const issues = issuesOf(`[factory]\n${line}\n`);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.key).toBe(key);
    expect(issues[0]!.message).toContain(message);
  });

  it("refuses a pool shape above the hypervisor's hotplug ceilings", () => {
    const issues = issuesOf(
      "[hypervisor]\nmax_memory_mib = 1024\nmax_vcpus = 2\n[factory]\nmemory_mib = 2048\nvcpus = 4\n",
    );
    expect(issues.map((i) => i.key)).toEqual(["factory.memory_mib", "factory.vcpus"]);
    expect(issues[0]!.message).toBe("must be <= hypervisor.max_memory_mib (1024), got 2048");
  });

  it("the error message names the key and the file", () => {
    expect(() => parse("[factory]\npool_size = 100\n")).toThrow(
      "factory.pool_size: must be <= 64, got 100 (in t.toml)",
    );
  });
});
