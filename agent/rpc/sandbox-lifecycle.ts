import { fromBinary } from "@bufbuild/protobuf";
import {
  DestroySandboxRequestSchema,
  SetGuestTimeRequestSchema,
} from "../../protocol/generated/tskata/agent/v1/agent_pb.js";
import { Code } from "../../protocol/ttrpc/codes.js";
import { TtrpcError } from "../../protocol/ttrpc/errors.js";
import type { Handler, Server } from "../../protocol/ttrpc/server.js";

export const AGENT_SERVICE = "tskata.agent.v1.Agent";

export interface LifecycleHooks {
  /** Sets the guest clock (ns since the epoch). */
  setClock(epochNs: bigint): void;
  /**
   * Tears the sandbox down: the guest's filesystems are synced before it returns (so the host
   * may quit the VM once it has the reply); with poweroff, powers the VM off after the reply.
   */
  destroy(poweroff: boolean): void;
}

/** google.protobuf.Empty encodes to zero bytes. */
const EMPTY = new Uint8Array(0);

/**
 * The sandbox lifecycle methods of tskata.agent.v1.Agent that the boot path owns: SetGuestTime
 * and DestroySandbox. Registered on their own until the full Agent service (agent/rpc) takes
 * over the name; the other methods answer UNIMPLEMENTED meanwhile.
 */
export function lifecycleHandlers(hooks: LifecycleHooks): Map<string, Handler> {
  return new Map<string, Handler>([
    [
      "SetGuestTime",
      (payload) => {
        const req = fromBinary(SetGuestTimeRequestSchema, payload);
        if (!req.time) throw new TtrpcError(Code.INVALID_ARGUMENT, "SetGuestTime: time is required");
        hooks.setClock(req.time.seconds * 1_000_000_000n + BigInt(req.time.nanos));
        return EMPTY;
      },
    ],
    [
      "DestroySandbox",
      (payload) => {
        const req = fromBinary(DestroySandboxRequestSchema, payload);
        hooks.destroy(req.poweroff);
        return EMPTY;
      },
    ],
  ]);
}

export function registerLifecycle(server: Server, hooks: LifecycleHooks): void {
  server.register(AGENT_SERVICE, lifecycleHandlers(hooks));
}
