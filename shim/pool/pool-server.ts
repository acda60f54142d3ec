/**
 * The pool's gRPC API (tskata.pool.v1.Pool) on its unix socket. A socket file left by a pool
 * that died is replaced; one that still answers is refused (POOL_SOCKET_IN_USE).
 */
import { mkdirSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { Pool } from "../../protocol/generated/tskata/pool/v1/pool_pb.js";
import { addGrpcService, GrpcStatusError } from "../../protocol/grpc/server.js";
import { Code } from "../../protocol/ttrpc/codes.js";
import { socketAnswers } from "../io/socket-answers.js";
import { PoolError } from "./errors.js";
import { pssKiB } from "./process-memory.js";
import type { WarmPool } from "./warm-pool.js";
import { toWire } from "./wire.js";

const STATUS_OF: Record<string, Code> = {
  POOL_EMPTY: Code.RESOURCE_EXHAUSTED,
  POOL_NO_FIT: Code.FAILED_PRECONDITION,
  POOL_LEASE_UNKNOWN: Code.NOT_FOUND,
};

function mapped<T>(run: () => Promise<T>): Promise<T> {
  return run().catch((err: unknown) => {
    if (err instanceof PoolError && STATUS_OF[err.code] !== undefined)
      throw new GrpcStatusError(STATUS_OF[err.code]!, err.message);
    throw err;
  });
}

export async function servePoolApi(pool: WarmPool, socketPath: string): Promise<grpc.Server> {
  mkdirSync(dirname(socketPath), { recursive: true, mode: 0o711 });
  if (await socketAnswers(socketPath)) {
    throw new PoolError("POOL_SOCKET_IN_USE", `another pool serves ${socketPath}`);
  }
  rmSync(socketPath, { force: true });
  const server = new grpc.Server();
  addGrpcService(server, Pool, {
    acquire: (req) =>
      mapped(async () => {
        const wanted = { memoryMib: req.shape?.memoryMib ?? 0, vcpus: req.shape?.vcpus ?? 0 };
        const owner = `${req.requester} (pid ${req.requesterPid})`;
        const lease = await pool.acquire(wanted, req.imageIdentity, owner);
        return { vm: toWire(lease.vm, lease.leaseId, lease.leaseMs) };
      }),
    release: (req) =>
      mapped(async () => {
        await pool.release(req.leaseId, req.adopted);
        return {};
      }),
    status: () =>
      mapped(async () => {
        const r = await pool.report();
        return {
          poolSize: r.poolSize,
          shape: r.shape,
          imageIdentity: r.imageIdentity,
          vms: r.vms.map((v) => ({ ...v, pssKib: BigInt(v.pssKiB), ageMs: BigInt(v.ageMs) })),
          hostMemAvailableMib: BigInt(r.hostMemAvailableMib),
          minHostAvailableMib: BigInt(r.minHostAvailableMib),
          refill: r.refill,
          daemonPssKib: BigInt(await pssKiB(process.pid)),
          daemonPid: process.pid,
        };
      }),
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  return server;
}
