/**
 * `tskata inspect SANDBOX [--config PATH | --state-dir DIR]`: the sandbox as its shim sees it,
 * as JSON (containers, execs, QEMU/virtiofsd pids, accel, uptime, size, host PSS, guest memory,
 * agent round-trip time). SANDBOX is an id or a unique prefix of one.
 */
import { toJson } from "@bufbuild/protobuf";
import { InspectResponseSchema } from "../../protocol/generated/tskata/admin/v1/admin_pb.js";
import { connectAdmin } from "../admin/admin-client.js";
import { listSandboxDirs, resolveSandbox } from "../admin/sandbox-dirs.js";
import { STATE_DIR_OPTIONS, stateDirOf } from "../admin/state-dir.js";
import { parsePositionals } from "../args.js";

export async function inspect(
  args: readonly string[],
  write = (t: string) => process.stdout.write(t),
): Promise<number> {
  const { values, positionals } = parsePositionals("inspect", args, STATE_DIR_OPTIONS, { min: 1, max: 1 });
  const stateDir = stateDirOf(values);
  const target = resolveSandbox(await listSandboxDirs(stateDir), positionals[0]!, stateDir);
  const conn = await connectAdmin(target.adminSocket);
  try {
    const reply = await conn.api.inspect({ skipGuest: false }, { timeoutMs: 15_000 });
    const json = toJson(InspectResponseSchema, reply, { alwaysEmitImplicit: true });
    write(`${JSON.stringify(json, null, 2)}\n`);
    return 0;
  } finally {
    conn.close();
  }
}
