/**
 * PoolProvider's promise that the pool never makes a pod fail: whatever goes wrong between
 * acquiring a pooled VM and handing the pod its sandbox, the adopted VM is stopped, the pod
 * network it attached is detached, and the pod boots cold. The pool, the adopted VM and the pod
 * network are fakes here (the real ones are exercised by test/e2e/cri-warm-pool.test.ts).
 */
import pino from "pino";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../../../shim/config/load.js";
import type { PodNetwork } from "../../../../shim/network/index.js";
import { type PoolModules, PoolProvider } from "../../../../shim/sandbox/pool-provider.js";
import type { PodSandbox, SandboxProvider, SandboxStartRequest } from "../../../../shim/sandbox/provider.js";
import type { SandboxSpec } from "../../../../shim/sandbox/sandbox-spec.js";

const config = parseConfig('[factory]\nenabled = true\nsocket_path = "/run/tskata-test-pool.sock"\n');

function podSpec(netnsPath: string | undefined): SandboxSpec {
  return {
    id: "pod-1",
    kind: "pod",
    podName: "web",
    podNamespace: "default",
    hostname: "web",
    netnsPath,
    dns: { servers: [], searches: [], options: [] },
    announced: { memoryBytes: 0, cpuQuota: 0, cpuPeriod: 0 },
  } as unknown as SandboxSpec;
}

interface World {
  events: string[];
  provider: PoolProvider;
  cold: PodSandbox;
  request: SandboxStartRequest;
}

/** A pool that hands out one VM whose NIC hotplug does what `plug` does. */
function world(opts: {
  plug: () => Promise<void>;
  netns?: string;
  attach?: () => Promise<PodNetwork>;
}): World {
  const events: string[] = [];
  const cold = { id: "pod-1" } as unknown as PodSandbox;
  const fallback: SandboxProvider = {
    async start() {
      events.push("cold boot");
      return cold;
    },
  };
  const vm = {
    plugNetwork: async () => {
      events.push("plug");
      await opts.plug();
    },
    stop: async () => {
      events.push("vm stopped");
    },
  };
  const network = {
    nics: [{ name: "eth0", tapName: "tap0_kata", mac: "02:00:00:00:00:01", mtu: 1500 }],
    vmNetwork: { netnsPath: opts.netns, nics: [] },
    detach: async () => {
      events.push("network detached");
    },
  } as unknown as PodNetwork;
  const modules = {
    GrpcCallError: class extends Error {},
    connectPool: () => ({
      api: {
        acquire: async () => {
          events.push("acquire");
          return { vm: { id: "pool-vm-1" } };
        },
        release: async (req: { adopted: boolean }) => {
          events.push(`release adopted=${req.adopted}`);
          return {};
        },
      },
      close: () => events.push("pool client closed"),
    }),
    fromWire: (w: { id: string }) => ({ id: w.id, leaseId: "lease-1" }),
    imageIdentity: () => "image",
    adoptPooledVm: async () => {
      events.push("adopt");
      return vm;
    },
    nicHotplugSupport: () => "root-ports",
    AdoptedSandbox: {
      start: async () => {
        events.push("adopted sandbox started");
        return { id: "pod-1" };
      },
    },
  } as unknown as PoolModules;
  const provider = new PoolProvider(fallback, {
    loadPoolModules: async () => modules,
    attachPodNetwork: async () => {
      events.push("network attached");
      return opts.attach ? opts.attach() : network;
    },
  });
  const request = {
    spec: podSpec(opts.netns),
    config,
    size: { memoryMib: 512, vcpus: 1 },
    log: pino({ level: "silent" }),
  } as SandboxStartRequest;
  return { events, provider, cold, request };
}

describe("PoolProvider falls back to a cold boot and leaves nothing of the adoption", () => {
  it("a CRI pod whose NIC hotplug fails: the adopted VM is stopped, its taps detached, the pod boots cold", async () => {
    const w = world({
      netns: "/var/run/netns/cni-1",
      plug: async () => {
        throw new Error("device_add: no free PCIe root port");
      },
    });
    const sandbox = await w.provider.start(w.request);
    expect(sandbox).toBe(w.cold);
    expect(w.events).toEqual([
      "acquire",
      "adopt",
      "network attached",
      "plug",
      "vm stopped",
      "network detached",
      "pool client closed",
      "cold boot",
    ]);
  });

  it("a CRI pod whose pod network cannot be attached: the adopted VM is stopped, the pod boots cold", async () => {
    const w = world({
      netns: "/var/run/netns/cni-2",
      plug: async () => {},
      attach: async () => {
        throw new Error("the netns has no interface");
      },
    });
    expect(await w.provider.start(w.request)).toBe(w.cold);
    expect(w.events).toEqual([
      "acquire",
      "adopt",
      "network attached",
      "vm stopped",
      "pool client closed",
      "cold boot",
    ]);
  });

  it("a CRI pod whose NICs plug: the VM is released from the pool as adopted and no cold boot happens", async () => {
    const w = world({ netns: "/var/run/netns/cni-3", plug: async () => {} });
    const sandbox = await w.provider.start(w.request);
    expect(sandbox).not.toBe(w.cold);
    expect(w.events).toEqual([
      "acquire",
      "adopt",
      "network attached",
      "plug",
      "release adopted=true",
      "adopted sandbox started",
      "pool client closed",
    ]);
  });
});
