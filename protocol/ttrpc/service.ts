/**
 * Typed service bindings over the generated descriptors: the shim and the agent implement and
 * call services with protobuf messages and never see frames or payload bytes.
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
import type { CallOptions, Client } from "./client.js";
import { Code } from "./codes.js";
import { TtrpcError } from "./errors.js";
import type { CallContext, Handler, Server } from "./server.js";

type UnaryMethod = DescMethod & { methodKind: "unary" };
type MethodsOf<S extends DescService> = S["method"];

/** What a service implementation provides: one async function per RPC, by its local name. */
export type ServiceImpl<S extends DescService> = {
  [K in keyof MethodsOf<S>]: MethodsOf<S>[K] extends {
    input: infer I extends DescMessage;
    output: infer O extends DescMessage;
  }
    ? (request: MessageShape<I>, ctx: CallContext) => Promise<MessageInitShape<O>> | MessageInitShape<O>
    : never;
};

/** A typed client: one async function per RPC, by its local name. */
export type ServiceClient<S extends DescService> = {
  [K in keyof MethodsOf<S>]: MethodsOf<S>[K] extends {
    input: infer I extends DescMessage;
    output: infer O extends DescMessage;
  }
    ? (request: MessageInitShape<I>, options?: CallOptions) => Promise<MessageShape<O>>
    : never;
};

export interface RegisterOptions {
  /** Register under another full name (containerd.task.v3.Task shares v2's messages). */
  name?: string;
}

function unaryMethods(service: DescService): UnaryMethod[] {
  for (const m of service.methods) {
    if (m.methodKind !== "unary") {
      throw new Error(`${service.typeName}/${m.name}: only unary methods are supported, not ${m.methodKind}`);
    }
  }
  return service.methods as UnaryMethod[];
}

/** Decodes a request payload, naming the method and message type when the bytes are not one. */
function decodeInput(method: DescMethod, payload: Uint8Array) {
  try {
    return fromBinary(method.input, payload);
  } catch (err) {
    throw new TtrpcError(
      Code.INVALID_ARGUMENT,
      `${method.parent.typeName}/${method.name}: payload is not a valid ${method.input.typeName}: ${(err as Error).message}`,
    );
  }
}

export function registerService<S extends DescService>(
  server: Server,
  service: S,
  impl: ServiceImpl<S>,
  options: RegisterOptions = {},
): void {
  const handlers = new Map<string, Handler>();
  for (const method of unaryMethods(service)) {
    const fn = (impl as Record<string, (req: unknown, ctx: CallContext) => unknown>)[method.localName];
    if (typeof fn !== "function") {
      throw new Error(`${service.typeName}: implementation lacks ${method.localName}()`);
    }
    handlers.set(method.name, async (payload, ctx) => {
      const request = decodeInput(method, payload);
      const response = await fn.call(impl, request, ctx);
      return toBinary(method.output, create(method.output, response as MessageInitShape<DescMessage>));
    });
  }
  server.register(options.name ?? service.typeName, handlers);
}

export function createClient<S extends DescService>(
  client: Client,
  service: S,
  options: RegisterOptions = {},
): ServiceClient<S> {
  const name = options.name ?? service.typeName;
  const out: Record<string, unknown> = {};
  for (const method of unaryMethods(service)) {
    out[method.localName] = async (request: MessageInitShape<DescMessage>, callOptions?: CallOptions) => {
      const payload = toBinary(method.input, create(method.input, request));
      const reply = await client.call(name, method.name, payload, callOptions);
      try {
        return fromBinary(method.output, reply);
      } catch (err) {
        throw new TtrpcError(
          Code.DATA_LOSS,
          `${name}/${method.name}: reply is not a valid ${method.output.typeName}: ${(err as Error).message}`,
        );
      }
    };
  }
  return out as ServiceClient<S>;
}
