/**
 * gRPC clients for protobuf-es service descriptors on @grpc/grpc-js: every unary method of a
 * DescService becomes a promise-returning function named after the method's local name, with a
 * per-call deadline; messages are the generated protobuf-es types, (de)serialised with their
 * schemas. A failed call rejects with a GrpcCallError carrying the gRPC status code and message.
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
import { Code, codeName } from "../ttrpc/codes.js";

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

/** One async function per unary RPC of S, by its local name (runPodSandbox, acquire, ...). */
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

/** A unix socket path becomes a `unix://` target; anything else is a gRPC target already. */
export function grpcTarget(address: string): string {
  return address.startsWith("/") ? `unix://${address}` : address;
}

/** Resolves once `channel` is connected; rejects with UNAVAILABLE after `timeoutMs`. */
export function waitForReady(channel: grpc.Client, target: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) =>
    channel.waitForReady(Date.now() + timeoutMs, (err) =>
      err ? reject(new GrpcCallError(target, Code.UNAVAILABLE, err.message)) : resolve(),
    ),
  );
}
