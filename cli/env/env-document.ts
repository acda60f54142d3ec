/**
 * `tskata env`'s document: the configuration file used (and the lookup order), every key with its
 * value and source, and the versions of tskata, Node, QEMU and the guest image. Its shape is
 * cli/env/env.schema.json.
 */
import { join } from "node:path";
import { type Manifest, readManifest } from "../../guest-image/manifest.js";
import type { ConfigIssue } from "../../shim/config/errors.js";
import {
  type EffectiveConfig,
  type EffectiveKey,
  keyValue,
  type LookupStep,
} from "../config/effective-config.js";
import type { QemuVersion } from "../host/qemu-version.js";

export interface EnvDocument {
  configFile: string | null;
  chosenBy: EffectiveConfig["chosenBy"];
  lookup: LookupStep[];
  valid: boolean;
  issues: ConfigIssue[];
  keys: EffectiveKey[];
  guestImage: { dir: string; reason: string; manifest: string | null };
  versions: {
    tskata: string;
    node: string;
    qemu: { path: string; version: string | null; error: string | null };
    guestImage: {
      kernelPackage: string;
      kernelVersion: string;
      kernelRelease: string;
      format: string;
      builtAt: string;
      inputsHash: string;
      debs: { name: string; version: string }[];
      npm: Record<string, string>;
    } | null;
  };
}

export interface EnvInputs {
  effective: EffectiveConfig;
  tskataVersion: string;
  qemuVersion: (path: string) => Promise<QemuVersion>;
  readManifest?: (path: string) => Promise<Manifest | undefined>;
}

export async function envDocument(inputs: EnvInputs): Promise<EnvDocument> {
  const { effective } = inputs;
  const qemuPath = String(keyValue(effective, "hypervisor.path") ?? "");
  const qemu = await inputs.qemuVersion(qemuPath);
  const manifestPath = join(effective.guest.guestDir.dir, "manifest.json");
  const manifest = await (inputs.readManifest ?? readManifest)(manifestPath);
  return {
    configFile: effective.file ?? null,
    chosenBy: effective.chosenBy,
    lookup: effective.lookup,
    valid: effective.issues.length === 0,
    issues: effective.issues,
    keys: effective.keys,
    guestImage: {
      dir: effective.guest.guestDir.dir,
      reason: effective.guest.guestDir.reason,
      manifest: manifest ? manifestPath : null,
    },
    versions: {
      tskata: inputs.tskataVersion,
      node: process.version,
      qemu: {
        path: qemuPath,
        version: qemu.ok ? qemu.version : null,
        error: qemu.ok ? null : qemu.reason,
      },
      guestImage: manifest
        ? {
            kernelPackage: manifest.kernel.package,
            kernelVersion: manifest.kernel.version,
            kernelRelease: manifest.kernel.release,
            format: manifest.format,
            builtAt: manifest.builtAt,
            inputsHash: manifest.inputsHash,
            debs: manifest.debs,
            npm: manifest.npm,
          }
        : null,
    },
  };
}
