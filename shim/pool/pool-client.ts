/** The shim's and `tskata pool status`'s side of tskata.pool.v1.Pool, over the pool's unix socket. */
import * as grpc from "@grpc/grpc-js";
import { Pool } from "../../protocol/generated/tskata/pool/v1/pool_pb.js";
import { bindGrpcService, type GrpcServiceClient, grpcTarget } from "../../protocol/grpc/client.js";

export interface PoolClient {
  api: GrpcServiceClient<typeof Pool>;
  close(): void;
}

export function connectPool(socketPath: string, defaultTimeoutMs = 5000): PoolClient {
  const channel = new grpc.Client(grpcTarget(socketPath), grpc.credentials.createInsecure());
  return { api: bindGrpcService(channel, Pool, defaultTimeoutMs), close: () => channel.close() };
}
