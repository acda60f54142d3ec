/**
 * A SandboxProvider for task-layer tests: each "VM" is a fake agent served in-process over ttrpc
 * and a temporary shared directory. It records the spec and size it was asked for, resizes, and
 * stops; `kill()` makes its VM die unexpectedly.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { VmExit } from "../../shim/hypervisor/hypervisor.js";
import type { PodSandbox, SandboxProvider, SandboxStartRequest } from "../../shim/sandbox/provider.js";
import type { VmSize } from "../../shim/sandbox/sizing.js";
import { type FakeAgent, startFakeAgent } from "./fake-agent.js";

/** What a fake VM's agent is: by default the in-memory fake agent. */
export interface AgentEndpoint {
  agent: PodSandbox["agent"];
  close(): Promise<void>;
}

export interface FakeSandbox extends PodSandbox {
  request: SandboxStartRequest;
  fake: FakeAgent;
  resizes: VmSize[];
  stopped: boolean;
  /** The VM dies: agent channel closed, exit seen. */
  kill(): void;
  /** Only the agent's channel breaks (the VM itself still runs). */
  dropAgent(): void;
}

export interface FakeSandboxProvider extends SandboxProvider {
  started: FakeSandbox[];
}

/** `agent`: the agent each VM gets instead of the in-memory fake (e.g. a hostile one). */
export function fakeSandboxProvider(
  opts: { agent?: () => Promise<AgentEndpoint> } = {},
): FakeSandboxProvider {
  const started: FakeSandbox[] = [];
  return {
    started,
    async start(request) {
      const fake = await startFakeAgent();
      const endpoint: AgentEndpoint = opts.agent ? await opts.agent() : fake;
      const sharedDir = mkdtempSync(join(tmpdir(), "tskata-fake-shared-"));
      let size = { ...request.size };
      let end!: (exit: VmExit) => void;
      const exited = new Promise<VmExit>((resolve) => {
        end = resolve;
      });
      const exit = (expected: boolean): VmExit => ({
        expected,
        reason: expected ? "stopped" : "killed",
        code: null,
        signal: expected ? null : "SIGKILL",
        consoleTail: "",
      });
      const sandbox: FakeSandbox = {
        id: request.spec.id,
        request,
        fake,
        resizes: [],
        stopped: false,
        agent: endpoint.agent,
        ...(endpoint === fake ? { health: fake.client.health } : {}),
        sharedDir,
        exited,
        get size() {
          return { ...size };
        },
        async resize(target) {
          sandbox.resizes.push(target);
          size = {
            memoryMib: Math.max(size.memoryMib, target.memoryMib),
            vcpus: Math.max(size.vcpus, target.vcpus),
          };
          return { ...size };
        },
        async stop() {
          if (sandbox.stopped) return;
          sandbox.stopped = true;
          await fake.close();
          if (endpoint !== fake) await endpoint.close();
          rmSync(sharedDir, { recursive: true, force: true });
          end(exit(true));
        },
        dropAgent() {
          void fake.close();
          if (endpoint !== fake) void endpoint.close();
        },
        kill() {
          // the VM is gone: its agent channel closes and QEMU's exit is seen
          void fake.close();
          if (endpoint !== fake) void endpoint.close();
          end(exit(false));
        },
      };
      started.push(sandbox);
      return sandbox;
    },
  };
}
