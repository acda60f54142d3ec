/**
 * The kubelet's everyday CRI calls as the pod suites make them: busybox containers created (and
 * started) from a script, ExecSync of a shell line, statuses, the pod IP, and a poll helper. Bound
 * to a harness through a getter, since suites create theirs in beforeAll.
 */
import { join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  type ContainerConfigSchema,
  NamespaceMode,
  type PodSandboxConfigSchema,
} from "../../../protocol/generated/cri/runtime/v1/api_pb.js";
import type { CriClient } from "./cri-client.js";
import { BUSYBOX_IMAGE } from "./cri-containerd.js";

export type SandboxInit = MessageInitShape<typeof PodSandboxConfigSchema>;
export type ContainerInit = MessageInitShape<typeof ContainerConfigSchema>;

export interface ExecResult {
  out: string;
  err: string;
  code: number;
}

/**
 * A pod as the kubelet describes one by default: metadata, hostname, a log directory under
 * `scratch`, the pod's network and IPC namespaces and a pid namespace per container.
 */
export function kubeletPodConfig(name: string, scratch: string, namespace = "default"): SandboxInit {
  return {
    metadata: { name, namespace, uid: `uid-${name}`, attempt: 0 },
    hostname: name,
    logDirectory: join(scratch, "pods", name),
    linux: {
      securityContext: {
        namespaceOptions: {
          network: NamespaceMode.POD,
          pid: NamespaceMode.CONTAINER,
          ipc: NamespaceMode.POD,
        },
      },
    },
  };
}

/** Polls `probe` every 250 ms until it gives a value (a throw counts as none), within `withinMs`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  withinMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function podOps(cri: () => CriClient) {
  const createContainer = async (
    podId: string,
    sandbox: SandboxInit,
    name: string,
    script: string,
    extra: Partial<ContainerInit> = {},
  ): Promise<string> => {
    const { containerId } = await cri().runtime.createContainer(
      {
        podSandboxId: podId,
        config: {
          metadata: { name },
          image: { image: BUSYBOX_IMAGE },
          command: ["sh", "-c", script],
          logPath: `${name}/0.log`,
          ...extra,
        } as ContainerInit,
        sandboxConfig: sandbox,
      },
      { timeoutMs: 120_000 },
    );
    return containerId;
  };
  return {
    createContainer,
    async startContainer(
      podId: string,
      sandbox: SandboxInit,
      name: string,
      script: string,
      extra: Partial<ContainerInit> = {},
    ): Promise<string> {
      const containerId = await createContainer(podId, sandbox, name, script, extra);
      await cri().runtime.startContainer({ containerId }, { timeoutMs: 120_000 });
      return containerId;
    },
    async exec(containerId: string, script: string): Promise<ExecResult> {
      const r = await cri().runtime.execSync(
        { containerId, cmd: ["sh", "-c", script], timeout: 30n },
        { timeoutMs: 60_000 },
      );
      return {
        out: Buffer.from(r.stdout).toString(),
        err: Buffer.from(r.stderr).toString(),
        code: r.exitCode,
      };
    },
    async containerStatus(containerId: string) {
      const { status } = await cri().runtime.containerStatus({ containerId });
      if (!status) throw new Error(`no status for ${containerId}`);
      return status;
    },
    async podIp(podId: string): Promise<string> {
      const { status } = await cri().runtime.podSandboxStatus({ podSandboxId: podId });
      return status?.network?.ip ?? "";
    },
  };
}
