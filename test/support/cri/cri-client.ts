/**
 * A typed CRI client (runtime.v1 RuntimeService and ImageService) on @grpc/grpc-js: what a
 * kubelet says to a container runtime, for tests that act as the kubelet. The messages are the
 * project's generated protobuf-es types, (de)serialised with their schemas; each RPC is a
 * promise-returning function named after the method's local name, with a per-call deadline.
 * A failed call rejects with a GrpcCallError carrying the gRPC status code and message (the
 * binding itself is protocol/grpc/client.ts, shared with the pool client).
 */
import * as grpc from "@grpc/grpc-js";
import { ImageService, RuntimeService } from "../../../protocol/generated/cri/runtime/v1/api_pb.js";
import {
  bindGrpcService,
  DEFAULT_CALL_TIMEOUT_MS,
  type GrpcServiceClient,
  grpcTarget,
  waitForReady,
} from "../../../protocol/grpc/client.js";

export {
  bindGrpcService,
  DEFAULT_CALL_TIMEOUT_MS,
  GrpcCallError,
  type GrpcCallOptions,
  type GrpcServiceClient,
} from "../../../protocol/grpc/client.js";

export interface CriClient {
  runtime: GrpcServiceClient<typeof RuntimeService>;
  image: GrpcServiceClient<typeof ImageService>;
  /** Resolves once the channel is connected; rejects after `timeoutMs`. */
  ready(timeoutMs?: number): Promise<void>;
  close(): void;
}

/** `address`: a unix socket path or a gRPC target such as `unix:///run/containerd/containerd.sock`. */
export function connectCri(address: string, opts: { defaultTimeoutMs?: number } = {}): CriClient {
  const target = grpcTarget(address);
  const channel = new grpc.Client(target, grpc.credentials.createInsecure(), {
    // The kubelet's limit: ExecSync output can be up to 16 MiB per stream.
    "grpc.max_receive_message_length": 64 * 1024 * 1024,
  });
  const timeout = opts.defaultTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  return {
    runtime: bindGrpcService(channel, RuntimeService, timeout),
    image: bindGrpcService(channel, ImageService, timeout),
    ready: (timeoutMs = 10_000) => waitForReady(channel, target, timeoutMs),
    close: () => channel.close(),
  };
}
