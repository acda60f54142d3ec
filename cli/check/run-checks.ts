/** Runs every `tskata check` against this host, with the inputs taken from the effective config. */
import { accessSync, closeSync, constants, existsSync, openSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describeArtifact, readManifest } from "../../guest-image/manifest.js";
import { vhostVsockAvailability } from "../../shim/agent-client/transport/vsock.js";
import type {
  AccelSetting,
  AgentTransportSetting,
  MachineType,
  SharedFsSetting,
} from "../../shim/config/types.js";
import { type KvmProbeResult, probeKvm } from "../../shim/hypervisor/accel-probe.js";
import { type EffectiveConfig, keyValue } from "../config/effective-config.js";
import { findOnPath, serviceSearchPath } from "../host/find-on-path.js";
import { hostKernelSources, kernelFeature } from "../host/kernel-feature.js";
import { qemuVersion } from "../host/qemu-version.js";
import { checkAgentChannel } from "./agent-channel.js";
import { checkCgroups } from "./cgroups.js";
import type { CheckResult } from "./check-result.js";
import { checkConfiguration } from "./configuration.js";
import { checkContainerdConfig } from "./containerd-config.js";
import { checkGuestImage } from "./guest-image.js";
import { checkKvm } from "./kvm.js";
import { checkQemu } from "./qemu.js";
import { checkSharedFs } from "./shared-fs.js";
import { checkShimOnPath } from "./shim-on-path.js";
import { checkTcMirred } from "./tc-mirred.js";
import { checkTun } from "./tun.js";

export const DEFAULT_CONTAINERD_CONFIG = "/etc/containerd/config.toml";

export interface HostCheckOptions {
  containerdConfig: string;
  /** Replaces the real KVM probe (tests); the real one boots a probe kernel under KVM, bounded. */
  probeKvm?: () => Promise<KvmProbeResult>;
}

function isExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function tryOpen(path: string): string | undefined {
  try {
    closeSync(openSync(path, constants.O_RDWR));
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

export async function runHostChecks(
  effective: EffectiveConfig,
  opts: HostCheckOptions,
): Promise<CheckResult[]> {
  const str = (key: string): string => String(keyValue(effective, key) ?? "");
  const qemuPath = str("hypervisor.path");
  const kernel = str("hypervisor.kernel");
  const probe =
    opts.probeKvm ??
    (() =>
      probeKvm({
        qemuPath,
        kernel,
        machineType: str("hypervisor.machine_type"),
        timeoutMs: Number(keyValue(effective, "hypervisor.kvm_probe_timeout_ms")),
        stateDir: str("runtime.state_dir") || undefined,
      }));
  const searchPath = serviceSearchPath();
  const qemu = await checkQemu({ path: qemuPath, version: (p) => qemuVersion(p) });
  // Without a QEMU there is nothing to probe with (and its cache must not be overwritten).
  const noQemu = async (): Promise<KvmProbeResult> => ({
    usable: false,
    reason: `not probed, QEMU at ${qemuPath} is not usable`,
    elapsedMs: 0,
    cached: false,
    method: "none",
  });
  return [
    checkConfiguration(effective),
    qemu,
    await checkKvm({
      accel: str("hypervisor.accel") as AccelSetting,
      probe: qemu.status === "fail" ? noQemu : probe,
    }),
    await checkAgentChannel({
      transport: str("hypervisor.agent_transport") as AgentTransportSetting,
      vsock: () => vhostVsockAvailability(),
    }),
    checkSharedFs({
      setting: str("hypervisor.shared_fs") as SharedFsSetting,
      virtiofsdPath: str("hypervisor.virtiofsd_path"),
      machineType: str("hypervisor.machine_type") as MachineType,
      isExecutable,
    }),
    await checkGuestImage({
      kernel: kernel || undefined,
      image: str("hypervisor.image") || undefined,
      initrd: str("hypervisor.initrd") || undefined,
      manifestPath: join(effective.guest.guestDir.dir, "manifest.json"),
      readManifest,
      exists: existsSync,
      describe: describeArtifact,
    }),
    checkCgroups({ mounts: readIfExists("/proc/self/mounts") ?? "" }),
    checkTun({ device: "/dev/net/tun", tryOpen }),
    checkTcMirred({
      tcPath: findOnPath("tc", searchPath),
      feature: (f) => kernelFeature(f, hostKernelSources()),
    }),
    checkShimOnPath({ searchPath, find: findOnPath }),
    checkContainerdConfig({ path: opts.containerdConfig, read: readIfExists }),
  ];
}
