/**
 * The ttrpc envelope messages (Request, Response) in one place: encoding, decoding and the
 * conversion between google.rpc.Status and TtrpcError.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { StatusSchema } from "../generated/google/rpc/status_pb.js";
import { type Request, RequestSchema, type Response, ResponseSchema } from "../generated/ttrpc/ttrpc_pb.js";
import { Code } from "./codes.js";
import { TtrpcError } from "./errors.js";

/** Call metadata: each key may carry several values, in order. */
export type Metadata = ReadonlyMap<string, readonly string[]>;

export interface RequestFields {
  service: string;
  method: string;
  payload: Uint8Array;
  timeoutNano: bigint;
  metadata?: Metadata | undefined;
}

export function encodeRequest(r: RequestFields): Uint8Array {
  const metadata: { key: string; value: string }[] = [];
  for (const [key, values] of r.metadata ?? []) for (const value of values) metadata.push({ key, value });
  return toBinary(
    RequestSchema,
    create(RequestSchema, {
      service: r.service,
      method: r.method,
      payload: r.payload,
      timeoutNano: r.timeoutNano,
      metadata,
    }),
  );
}

export function decodeRequest(bytes: Uint8Array): Request {
  return fromBinary(RequestSchema, bytes);
}

export function metadataOf(req: Request): Map<string, string[]> {
  const md = new Map<string, string[]>();
  for (const { key, value } of req.metadata) {
    const values = md.get(key);
    if (values) values.push(value);
    else md.set(key, [value]);
  }
  return md;
}

export function encodeOkResponse(payload: Uint8Array): Uint8Array {
  return toBinary(ResponseSchema, create(ResponseSchema, { payload }));
}

export function encodeErrorResponse(err: TtrpcError): Uint8Array {
  return toBinary(
    ResponseSchema,
    create(ResponseSchema, {
      status: create(StatusSchema, { code: err.code, message: err.message, details: err.details }),
    }),
  );
}

export function decodeResponse(bytes: Uint8Array): Response {
  return fromBinary(ResponseSchema, bytes);
}

/** The payload of an OK response, or the TtrpcError its status describes. */
export function responseResult(res: Response): Uint8Array | TtrpcError {
  const status = res.status;
  if (status === undefined || status.code === Code.OK) return res.payload;
  return new TtrpcError(status.code, status.message, status.details);
}
