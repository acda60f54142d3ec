/**
 * A minimal protobuf wire reader/writer for the ttrpc envelope (Request, Response, Status,
 * KeyValue). These messages are on every call's hot path, so they are coded by hand; the
 * generated schemas in protocol/generated/ttrpc remain the reference and the tests compare both.
 */

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

const utf8 = new TextEncoder();
const utf8d = new TextDecoder("utf-8", { fatal: false });

export class WireError extends Error {
  override readonly name = "WireError";
}

/** Appends fields to a growable buffer. */
export class Writer {
  private buf: Uint8Array;
  private pos = 0;

  constructor(sizeHint = 64) {
    this.buf = new Uint8Array(sizeHint);
  }

  /** Appends bytes that are already encoded fields. */
  raw(encoded: Uint8Array): this {
    this.ensure(encoded.length);
    this.buf.set(encoded, this.pos);
    this.pos += encoded.length;
    return this;
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  private varint(v: number): void {
    this.ensure(10);
    while (v > 0x7f) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  private varint64(v: bigint): void {
    let u = BigInt.asUintN(64, v);
    this.ensure(10);
    while (u > 0x7fn) {
      this.buf[this.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.pos++] = Number(u);
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  bytes(field: number, v: Uint8Array): this {
    if (v.length === 0) return this;
    this.tag(field, WIRE_LEN);
    this.varint(v.length);
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
    return this;
  }

  string(field: number, v: string): this {
    return v.length === 0 ? this : this.bytes(field, utf8.encode(v));
  }

  int64(field: number, v: bigint): this {
    if (v === 0n) return this;
    this.tag(field, WIRE_VARINT);
    this.varint64(v);
    return this;
  }

  int32(field: number, v: number): this {
    if (v === 0) return this;
    this.tag(field, WIRE_VARINT);
    if (v < 0) this.varint64(BigInt(v));
    else this.varint(v);
    return this;
  }

  /** A nested message (always written, even when empty). */
  message(field: number, encoded: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.varint(encoded.length);
    this.ensure(encoded.length);
    this.buf.set(encoded, this.pos);
    this.pos += encoded.length;
    return this;
  }
}

/** Reads the fields of one message in order. */
export class Reader {
  private pos = 0;

  constructor(private readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  /** The next field's number and wire type. */
  tag(): [field: number, wire: number] {
    const t = this.varint();
    const field = Math.floor(t / 8);
    if (field === 0) throw new WireError("illegal field number 0");
    return [field, t & 7];
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new WireError("premature EOF in varint");
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw new WireError("varint longer than 10 bytes");
  }

  varint64(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new WireError("premature EOF in varint");
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asIntN(64, result);
      shift += 7n;
    }
    throw new WireError("varint longer than 10 bytes");
  }

  int32(): number {
    return Number(BigInt.asIntN(32, this.varint64()));
  }

  bytes(): Uint8Array {
    const len = this.varint();
    if (this.pos + len > this.buf.length) throw new WireError("premature EOF in length-delimited field");
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  string(): string {
    return utf8d.decode(this.bytes());
  }

  /** Skips a field of the given wire type (unknown fields are allowed by proto3). */
  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint64();
        return;
      case WIRE_I64:
        this.advance(8);
        return;
      case WIRE_LEN:
        this.bytes();
        return;
      case WIRE_I32:
        this.advance(4);
        return;
      default:
        throw new WireError(`unsupported wire type ${wire}`);
    }
  }

  /** Checks a known field arrived with the wire type its declaration needs. */
  expect(field: number, wire: number, want: number): void {
    if (wire !== want) throw new WireError(`field ${field}: wire type ${wire}, want ${want}`);
  }

  private advance(n: number): void {
    if (this.pos + n > this.buf.length) throw new WireError("premature EOF");
    this.pos += n;
  }
}

export const Wire = { VARINT: WIRE_VARINT, LEN: WIRE_LEN } as const;
