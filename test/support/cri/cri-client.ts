/**
 * A typed CRI client (runtime.v1 RuntimeService and ImageService) on @grpc/grpc-js: what a
 * kubelet says to a container runtime, for tests that act as the kubelet. The messages are the
 * project's generated protobuf-es types, (de)serialised with their schemas; each RPC is a
 * promise-returning function named after the method's local name, with a per-call deadline.
 * A failed call rejects with a GrpcCallError carrying the gRPC status code and message.
 */
import {
  create,
  type DescMessage,
  type DescMethod,
  type DescService,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { ImageService, RuntimeService } from "../../../protocol/generated/cri/runtime/v1/api_pb.js";
import { Code, codeName } from "../../../protocol/ttrpc/codes.js";

export const DEFAULT_CALL_TIMEOUT_MS = 30_000;

export interface GrpcCallOptions {
  /** Deadline of this call in milliseconds from now. */
  timeoutMs?: number;
}

/** A call that ended with a non-OK gRPC status: `code` is google.rpc.Code, `details` the server's text. */
export class GrpcCallError extends Error {
  override readonly name = "GrpcCallError";
  /** Stable code for callers: GRPC_<STATUS>, e.g. GRPC_NOT_FOUND. */
  readonly errorCode: string;
  constructor(
    readonly method: string,
    readonly code: Code,
    readonly details: string,
  ) {
    super(`${method}: ${codeName(code)}: ${details}`);
    this.errorCode = `GRPC_${codeName(code)}`;
  }
}

type MethodsOf<S extends DescService> = S["method"];

/** One async function per unary RPC of S, by its local name (runPodSandbox, execSync, ...). */
export type GrpcServiceClient<S extends DescService> = {
  [K in keyof MethodsOf<S>]: MethodsOf<S>[K] extends {
    input: infer I extends DescMessage;
    output: infer O extends DescMessage;
  }
    ? (request: MessageInitShape<I>, options?: GrpcCallOptions) => Promise<MessageShape<O>>
    : never;
};

function unaryCall(
  channel: grpc.Client,
  method: DescMethod,
  defaultTimeoutMs: number,
): (request: MessageInitShape<DescMessage>, options?: GrpcCallOptions) => Promise<unknown> {
  const path = `/${method.parent.typeName}/${method.name}`;
  const serialize = (message: MessageShape<DescMessage>) => Buffer.from(toBinary(method.input, message));
  const deserialize = (bytes: Buffer) => fromBinary(method.output, bytes);
  return (request, options = {}) =>
    new Promise((resolve, reject) => {
      const deadline = new Date(Date.now() + (options.timeoutMs ?? defaultTimeoutMs));
      channel.makeUnaryRequest(
        path,
        serialize,
        deserialize,
        create(method.input, request),
        new grpc.Metadata(),
        { deadline },
        (err, reply) => {
          if (err) reject(new GrpcCallError(path, err.code as number as Code, err.details || err.message));
          else resolve(reply);
        },
      );
    });
}

/** Binds every unary method of `service` to calls on `channel`. */
export function bindGrpcService<S extends DescService>(
  channel: grpc.Client,
  service: S,
  defaultTimeoutMs = DEFAULT_CALL_TIMEOUT_MS,
): GrpcServiceClient<S> {
  const out: Record<string, unknown> = {};
  for (const method of service.methods) {
    if (method.methodKind !== "unary") continue;
    out[method.localName] = unaryCall(channel, method, defaultTimeoutMs);
  }
  return out as GrpcServiceClient<S>;
}

export interface CriClient {
  runtime: GrpcServiceClient<typeof RuntimeService>;
  image: GrpcServiceClient<typeof ImageService>;
  /** Resolves once the channel is connected; rejects after `timeoutMs`. */
  ready(timeoutMs?: number): Promise<void>;
  close(): void;
}

/** `address`: a unix socket path or a gRPC target such as `unix:///run/containerd/containerd.sock`. */
export function connectCri(address: string, opts: { defaultTimeoutMs?: number } = {}): CriClient {
  const target = address.startsWith("/") ? `unix://${address}` : address;
  const channel = new grpc.Client(target, grpc.credentials.createInsecure(), {
    // The kubelet's limit: ExecSync output can be up to 16 MiB per stream.
    "grpc.max_receive_message_length": 64 * 1024 * 1024,
  });
  const timeout = opts.defaultTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  return {
    runtime: bindGrpcService(channel, RuntimeService, timeout),
    image: bindGrpcService(channel, ImageService, timeout),
    ready: (timeoutMs = 10_000) =>
      new Promise((resolve, reject) =>
        channel.waitForReady(Date.now() + timeoutMs, (err) =>
          err ? reject(new GrpcCallError(target, Code.UNAVAILABLE, err.message)) : resolve(),
        ),
      ),
    close: () => channel.close(),
  };
}
