/**
 * The ttrpc envelope in one place: Request and Response (with google.rpc.Status) encoded and
 * decoded by hand on the hot path (see wire.ts), and the Status ↔ TtrpcError conversion.
 * Field numbers: Request{service=1, method=2, payload=3, timeout_nano=4, metadata=5},
 * KeyValue{key=1, value=2}, Response{status=1, payload=2}, Status{code=1, message=2, details=3},
 * Any{type_url=1, value=2}.
 */
import type { Any } from "@bufbuild/protobuf/wkt";
import { Code } from "./codes.js";
import { TtrpcError } from "./errors.js";
import { Reader, Wire, Writer } from "./wire.js";

/** Call metadata: each key may carry several values, in order. */
export type Metadata = ReadonlyMap<string, readonly string[]>;

export interface RequestFields {
  service: string;
  method: string;
  payload: Uint8Array;
  timeoutNano: bigint;
  metadata?: Metadata | undefined;
}

export interface DecodedRequest {
  service: string;
  method: string;
  payload: Uint8Array;
  timeoutNano: bigint;
  metadata: Map<string, string[]>;
}

export interface DecodedResponse {
  status: { code: number; message: string; details: Any[] } | undefined;
  payload: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/** Encoded service and method fields, per method: callers use few methods, many times. */
const prefixes = new Map<string, Uint8Array>();
const MAX_PREFIXES = 1024;

function requestPrefix(service: string, method: string): Uint8Array {
  const key = `${service}/${method}`;
  let prefix = prefixes.get(key);
  if (prefix === undefined) {
    if (prefixes.size >= MAX_PREFIXES) prefixes.clear();
    prefix = new Writer().string(1, service).string(2, method).finish().slice();
    prefixes.set(key, prefix);
  }
  return prefix;
}

export function encodeRequest(r: RequestFields): Uint8Array {
  const prefix = requestPrefix(r.service, r.method);
  const w = new Writer(prefix.length + r.payload.length + 24)
    .raw(prefix)
    .bytes(3, r.payload)
    .int64(4, r.timeoutNano);
  for (const [key, values] of r.metadata ?? []) {
    for (const value of values) w.message(5, new Writer().string(1, key).string(2, value).finish());
  }
  return w.finish();
}

export function decodeRequest(bytes: Uint8Array): DecodedRequest {
  const out: DecodedRequest = {
    service: "",
    method: "",
    payload: EMPTY,
    timeoutNano: 0n,
    metadata: new Map(),
  };
  const r = new Reader(bytes);
  while (!r.done) {
    const [field, wire] = r.tag();
    switch (field) {
      case 1:
        r.expect(field, wire, Wire.LEN);
        out.service = r.string();
        break;
      case 2:
        r.expect(field, wire, Wire.LEN);
        out.method = r.string();
        break;
      case 3:
        r.expect(field, wire, Wire.LEN);
        out.payload = r.bytes();
        break;
      case 4:
        r.expect(field, wire, Wire.VARINT);
        out.timeoutNano = r.varint64();
        break;
      case 5: {
        r.expect(field, wire, Wire.LEN);
        const [key, value] = decodeKeyValue(r.bytes());
        const values = out.metadata.get(key);
        if (values) values.push(value);
        else out.metadata.set(key, [value]);
        break;
      }
      default:
        r.skip(wire);
    }
  }
  return out;
}

function decodeKeyValue(bytes: Uint8Array): [string, string] {
  let key = "";
  let value = "";
  const r = new Reader(bytes);
  while (!r.done) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === Wire.LEN) key = r.string();
    else if (field === 2 && wire === Wire.LEN) value = r.string();
    else r.skip(wire);
  }
  return [key, value];
}

export function encodeOkResponse(payload: Uint8Array): Uint8Array {
  return new Writer().bytes(2, payload).finish();
}

export function encodeErrorResponse(err: TtrpcError): Uint8Array {
  const status = new Writer().int32(1, err.code).string(2, err.message);
  for (const d of err.details)
    status.message(3, new Writer().string(1, d.typeUrl).bytes(2, d.value).finish());
  return new Writer().message(1, status.finish()).finish();
}

export function decodeResponse(bytes: Uint8Array): DecodedResponse {
  const out: DecodedResponse = { status: undefined, payload: EMPTY };
  const r = new Reader(bytes);
  while (!r.done) {
    const [field, wire] = r.tag();
    if (field === 1) {
      r.expect(field, wire, Wire.LEN);
      out.status = decodeStatus(r.bytes());
    } else if (field === 2) {
      r.expect(field, wire, Wire.LEN);
      out.payload = r.bytes();
    } else r.skip(wire);
  }
  return out;
}

function decodeStatus(bytes: Uint8Array): NonNullable<DecodedResponse["status"]> {
  const status = { code: 0, message: "", details: [] as Any[] };
  const r = new Reader(bytes);
  while (!r.done) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === Wire.VARINT) status.code = r.int32();
    else if (field === 2 && wire === Wire.LEN) status.message = r.string();
    else if (field === 3 && wire === Wire.LEN) status.details.push(decodeAny(r.bytes()));
    else r.skip(wire);
  }
  return status;
}

function decodeAny(bytes: Uint8Array): Any {
  let typeUrl = "";
  let value: Uint8Array = EMPTY;
  const r = new Reader(bytes);
  while (!r.done) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === Wire.LEN) typeUrl = r.string();
    else if (field === 2 && wire === Wire.LEN) value = r.bytes();
    else r.skip(wire);
  }
  return { $typeName: "google.protobuf.Any", typeUrl, value };
}

/** The payload of an OK response, or the TtrpcError its status describes. */
export function responseResult(res: DecodedResponse): Uint8Array | TtrpcError {
  const status = res.status;
  if (status === undefined || status.code === Code.OK) return res.payload;
  return new TtrpcError(status.code, status.message, status.details);
}
