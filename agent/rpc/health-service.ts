import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { release } from "node:os";
import { promisify } from "node:util";
import {
  CheckResponse_ServingStatus,
  type Health,
} from "../../protocol/generated/tskata/agent/v1/health_pb.js";
import type { ServiceImpl } from "../../protocol/ttrpc/service.js";
import { AGENT_API_VERSION, AGENT_VERSION } from "../version.js";

const execFileAsync = promisify(execFile);

export interface HealthServiceOptions {
  /** The OCI executor asked for its version (default /usr/bin/crun). */
  executor?: string;
  /** Reports whether the agent is serving (default: always). */
  serving?: () => boolean;
  /** The guest's boot phases (guest uptimes), reported with every Check answer. */
  bootPhases?: () => { name: string; uptimeSeconds: number }[];
}

/** Guest uptime in seconds (/proc/uptime), falling back to process uptime outside a VM. */
function uptimeSeconds(): number {
  try {
    return Number.parseFloat(readFileSync("/proc/uptime", "utf8").split(" ")[0]!);
  } catch {
    return process.uptime();
  }
}

/**
 * uname -r, read from /proc: Node's os.release() is captured when `os` loads, which for the
 * guest agent is inside the startup snapshot taken on the build host.
 */
function kernelRelease(): string {
  try {
    return readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  } catch {
    return release();
  }
}

/** First line of `<executor> --version`, asked once and remembered. */
function executorVersion(executor: string): () => Promise<string> {
  let cached: Promise<string> | undefined;
  return () => {
    cached ??= execFileAsync(executor, ["--version"], { timeout: 10_000 }).then(
      ({ stdout }) => stdout.split("\n")[0]!.trim(),
      (err: Error) => {
        cached = undefined; // try again next call
        return `unavailable: ${err.message}`;
      },
    );
    return cached;
  };
}

/** tskata.agent.v1.Health: liveness for the shim's boot wait, and the guest's identity. */
export function createHealthService(options: HealthServiceOptions = {}): ServiceImpl<typeof Health> {
  const serving = options.serving ?? (() => true);
  const bootPhases = options.bootPhases ?? (() => []);
  const crunVersion = executorVersion(options.executor ?? "/usr/bin/crun");
  return {
    check() {
      return {
        status: serving() ? CheckResponse_ServingStatus.SERVING : CheckResponse_ServingStatus.NOT_SERVING,
        uptimeSeconds: uptimeSeconds(),
        bootPhases: bootPhases(),
      };
    },
    async version() {
      return {
        agentVersion: AGENT_VERSION,
        apiVersion: AGENT_API_VERSION,
        kernelRelease: kernelRelease(),
        runtimeVersion: process.version,
        executorVersion: await crunVersion(),
        uptimeSeconds: uptimeSeconds(),
      };
    },
  };
}
