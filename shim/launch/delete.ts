/**
 * `delete`: containerd's cleanup for a task whose shim connection closed. containerd runs it
 * both after a shim died and when a pod's shim merely stopped serving one of its tasks; only in
 * the first case (the group's socket no longer answers) is the sandbox torn down: what the dead
 * shim mounted is unmounted, the VM and virtiofsd it recorded are stopped, the sandbox directory
 * removed — found through the configuration the task was created with (bundle-record.ts), whose
 * state_dir need not be the default. Either way it answers a DeleteResponse (exit 137, now) on stdout like runc's shim.
 */
import { rmSync } from "node:fs";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { UmountFlags, umount } from "../../native/mount.js";
import { DeleteResponseSchema } from "../../protocol/generated/containerd/task/v2/shim_pb.js";
import { loadConfig } from "../config/load.js";
import { cleanupSandbox, mountsBelow, sandboxPaths } from "../hypervisor/sandbox-resources.js";
import { socketAnswers } from "../io/socket-answers.js";
import { bundleGroupId } from "./bundle-group.js";
import { readBundleRecord } from "./bundle-record.js";
import type { ShimFlags } from "./flags.js";
import { shimSocketPath } from "./socket-address.js";

export async function deleteShim(flags: ShimFlags, warn: (msg: string) => void): Promise<Uint8Array> {
  const bundle = flags.bundle || process.cwd();
  const sandboxId = bundleGroupId(bundle, flags.id);
  const socket = shimSocketPath(flags.address, flags.namespace, sandboxId);
  if (await socketAnswers(socket)) {
    warn(`sandbox ${sandboxId} is still served by its shim: nothing to clean up for ${flags.id}`);
    return deleteResponse();
  }
  rmSync(socket, { force: true });
  try {
    // The configuration the sandbox was started with (its state_dir holds what to clean up).
    const config = loadConfig(readBundleRecord(bundle)?.configPath);
    const paths = sandboxPaths(config.runtime.stateDir, sandboxId);
    const mounts = (await mountsBelow(paths.dir)).sort((a, b) => b.length - a.length);
    for (const m of mounts) {
      try {
        umount(m, UmountFlags.DETACH);
      } catch (err) {
        warn(`unmount ${m}: ${(err as Error).message}`);
      }
    }
    const report = await cleanupSandbox(config.runtime.stateDir, sandboxId);
    if (!report) rmSync(paths.dir, { recursive: true, force: true });
    rmSync(paths.socketDir, { recursive: true, force: true });
    for (const p of report?.processes ?? []) warn(`sandbox ${sandboxId}: ${p.role} ${p.pid}: ${p.outcome}`);
    if (report?.network) warn(`sandbox ${sandboxId}: pod network: ${report.network}`);
  } catch (err) {
    warn(`cleaning up sandbox ${sandboxId}: ${(err as Error).message}`);
  }
  return deleteResponse();
}

function deleteResponse(): Uint8Array {
  return toBinary(
    DeleteResponseSchema,
    create(DeleteResponseSchema, { pid: 0, exitStatus: 137, exitedAt: timestampFromMs(Date.now()) }),
  );
}
