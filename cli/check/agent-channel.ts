/**
 * Agent channel: vhost-vsock when usable, else a virtio-serial port (always available in QEMU).
 * Required: fails only when `agent_transport = "vsock"` is configured and vsock is unusable.
 */

import type { VsockAvailability } from "../../shim/agent-client/transport/vsock.js";
import type { AgentTransportSetting } from "../../shim/config/types.js";
import { type CheckResult, fail, ok } from "./check-result.js";

export interface AgentChannelInputs {
  transport: AgentTransportSetting;
  /** shim/agent-client/transport/vsock.ts `vhostVsockAvailability` on a real host. */
  vsock: () => Promise<VsockAvailability>;
}

export async function checkAgentChannel(inputs: AgentChannelInputs): Promise<CheckResult> {
  const v = await inputs.vsock();
  if (v.usable) {
    const used = inputs.transport === "virtio-serial" ? "virtio-serial (configured)" : "vhost-vsock";
    return ok("agent-channel", `vhost-vsock usable; the agent is reached over ${used}`);
  }
  if (inputs.transport === "vsock")
    return fail(
      "agent-channel",
      `vhost-vsock unusable (${v.reason}) and hypervisor.agent_transport = "vsock" is configured`,
      'set hypervisor.agent_transport = "auto" or "virtio-serial", or load vhost_vsock (modprobe vhost_vsock)',
    );
  return ok("agent-channel", `virtio-serial port (vhost-vsock unusable: ${v.reason})`);
}
