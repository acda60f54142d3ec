/** PooledVmDescription ↔ tskata.pool.v1.PooledVm. */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { PooledVm, PooledVmSchema } from "../../protocol/generated/tskata/pool/v1/pool_pb.js";
import type { PooledVmDescription } from "./pooled-vm.js";

export function toWire(
  d: PooledVmDescription,
  leaseId: string,
  leaseMs: number,
): MessageInitShape<typeof PooledVmSchema> {
  return {
    ...d,
    virtiofsd: d.virtiofsd ?? { pid: 0, startTime: "" },
    leaseId,
    leaseMs,
  };
}

export function fromWire(m: PooledVm): PooledVmDescription & { leaseId: string; leaseMs: number } {
  const ref = (p: { pid: number; startTime: string } | undefined) =>
    p && p.pid > 0 ? { pid: p.pid, startTime: p.startTime } : undefined;
  return {
    id: m.id,
    sandboxDir: m.sandboxDir,
    qmpSocket: m.qmpSocket,
    agentTransport: m.agentTransport === "vsock" ? "vsock" : "virtio-serial",
    agentSocket: m.agentSocket,
    guestCid: m.guestCid,
    vsockPort: m.vsockPort,
    virtiofsdSocket: m.virtiofsdSocket,
    virtiofsd: ref(m.virtiofsd),
    qemu: ref(m.qemu) ?? { pid: 0, startTime: "" },
    sharedDir: m.sharedDir,
    consoleLog: m.consoleLog,
    shape: { memoryMib: m.shape?.memoryMib ?? 0, vcpus: m.shape?.vcpus ?? 0 },
    maxShape: { memoryMib: m.maxShape?.memoryMib ?? 0, vcpus: m.maxShape?.vcpus ?? 0 },
    sharedMemory: m.sharedMemory,
    imageIdentity: m.imageIdentity,
    leaseId: m.leaseId,
    leaseMs: m.leaseMs,
  };
}
