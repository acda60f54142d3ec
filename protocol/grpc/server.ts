/**
 * Serving a protobuf-es service descriptor on a @grpc/grpc-js Server: each unary method is
 * implemented by an async function from the request message to the response init; a thrown
 * GrpcStatusError answers with its status code, anything else with INTERNAL and its message.
 */
import {
  create,
  type DescMessage,
  type DescService,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import type * as grpc from "@grpc/grpc-js";
import { Code } from "../ttrpc/codes.js";

/** Thrown by an implementation to answer with a specific gRPC status. */
export class GrpcStatusError extends Error {
  override readonly name = "GrpcStatusError";
  constructor(
    readonly code: Code,
    message: string,
  ) {
    super(message);
  }
}

type MethodsOf<S extends DescService> = S["method"];

/** One async handler per unary RPC of S, by its local name. */
export type GrpcServiceImpl<S extends DescService> = {
  [K in keyof MethodsOf<S>]: MethodsOf<S>[K] extends {
    input: infer I extends DescMessage;
    output: infer O extends DescMessage;
  }
    ? (request: MessageShape<I>) => Promise<MessageInitShape<O>>
    : never;
};

/** Adds every unary method of `service` to `server`, served by `impl`. */
export function addGrpcService<S extends DescService>(
  server: grpc.Server,
  service: S,
  impl: GrpcServiceImpl<S>,
): void {
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const method of service.methods) {
    if (method.methodKind !== "unary") continue;
    definition[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (m) => Buffer.from(toBinary(method.input, m as MessageShape<DescMessage>)),
      requestDeserialize: (b: Buffer) => fromBinary(method.input, b),
      responseSerialize: (m) => Buffer.from(toBinary(method.output, m as MessageShape<DescMessage>)),
      responseDeserialize: (b: Buffer) => fromBinary(method.output, b),
    };
    const handler = (impl as Record<string, (r: unknown) => Promise<MessageInitShape<DescMessage>>>)[
      method.localName
    ];
    if (!handler) throw new TypeError(`no implementation of ${service.typeName}.${method.name}`);
    handlers[method.localName] = (
      call: grpc.ServerUnaryCall<unknown, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      handler(call.request).then(
        (reply) => callback(null, create(method.output, reply)),
        (err: unknown) =>
          callback({
            code: (err instanceof GrpcStatusError ? err.code : Code.INTERNAL) as number as grpc.status,
            details: (err as Error).message,
          }),
      );
    };
  }
  server.addService(definition as grpc.ServiceDefinition, handlers);
}
