/**
 * A TaskManager wired to a fake sandbox provider, with a state dir and bundles on a temp dir, for
 * task-layer tests: `manager()` gives the manager, its provider and the events it published;
 * `bundle(spec)` writes a bundle (config.json + an empty rootfs dir); `dispose()` unmounts the
 * shared mount the manager made and removes everything.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { UmountFlags, umount } from "../../native/mount.js";
import { parseConfig } from "../../shim/config/load.js";
import type { EventPublisher } from "../../shim/events/publisher.js";
import { isMountPoint } from "../../shim/rootfs/rootfs.js";
import type { OciSpec } from "../../shim/spec/guest-spec.js";
import { type StartedSandbox, TaskManager } from "../../shim/task/task-manager.js";
import {
  type AgentEndpoint,
  type FakeSandboxProvider,
  fakeSandboxProvider,
} from "./fake-sandbox-provider.js";

export interface Published {
  topic: string;
  event: Record<string, unknown>;
}

export const noIo = { stdin: "", stdout: "", stderr: "", terminal: false };

/** A Create of container `id` from `bundle` (its rootfs in the bundle, no ConfigPath). */
export function createInput(id: string, bundle: string, io: typeof noIo = noIo) {
  return { id, bundle, rootfs: [], io, configPath: undefined };
}

export interface TaskFixture {
  work: string;
  manager(opts?: {
    host?: { memoryMib: number; cpus: number };
    agent?: () => Promise<AgentEndpoint>;
    /** Extra lines of the configuration's [agent] section (e.g. debug_exec = true). */
    agentToml?: string;
    onSandboxStarted?: (started: StartedSandbox) => void;
  }): {
    tasks: TaskManager;
    provider: FakeSandboxProvider;
    events: Published[];
  };
  bundle(spec: OciSpec): string;
  dispose(): void;
}

export function taskFixture(): TaskFixture {
  const work = mkdtempSync(join(tmpdir(), "tskata-tm-"));
  const stateDir = join(work, "state");
  let bundles = 0;
  return {
    work,
    manager(opts = {}) {
      const events: Published[] = [];
      const provider = fakeSandboxProvider(opts.agent ? { agent: opts.agent } : {});
      const tasks = new TaskManager({
        namespace: "k8s.io",
        sandboxId: "pod1",
        events: {
          publish: (topic: string, event: Record<string, unknown>) => events.push({ topic, event }),
        } as unknown as EventPublisher,
        log: pino({ level: "silent" }),
        loadConfig: () =>
          parseConfig(
            `[hypervisor]\nmemory_mib = 512\nvcpus = 1\n[agent]\n${opts.agentToml ?? ""}\n[runtime]\nstate_dir = "${stateDir}"\n`,
          ),
        sandboxes: provider,
        ...(opts.onSandboxStarted ? { onSandboxStarted: opts.onSandboxStarted } : {}),
        host: opts.host ?? { memoryMib: 8192, cpus: 4 },
      });
      return { tasks, provider, events };
    },
    bundle(spec) {
      const dir = join(work, `bundle${bundles++}`);
      mkdirSync(join(dir, "rootfs"), { recursive: true });
      writeFileSync(join(dir, "config.json"), JSON.stringify(spec));
      return dir;
    },
    dispose() {
      const shared = join(stateDir, "sandboxes");
      while (isMountPoint(shared)) umount(shared, UmountFlags.DETACH);
      rmSync(work, { recursive: true, force: true });
    },
  };
}
