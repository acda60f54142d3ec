import { describe, expect, it } from "vitest";
import {
  encodeFrame,
  type Frame,
  FrameReader,
  FrameType,
  HEADER_SIZE,
  isOversized,
  MAX_MESSAGE_SIZE,
  type ReadResult,
} from "../../../../protocol/ttrpc/frame.js";

function frames(results: ReadResult[]): Frame[] {
  return results.filter((r): r is Frame => !isOversized(r));
}

describe("ttrpc framing", () => {
  it("encodes the 10-byte big-endian header: length, stream id, type, flags", () => {
    const f = encodeFrame(0x01020304, FrameType.RESPONSE, 0x05, Buffer.from("abc"));
    expect([...f.subarray(0, HEADER_SIZE)]).toEqual([0, 0, 0, 3, 1, 2, 3, 4, 2, 5]);
    expect(f.subarray(HEADER_SIZE).toString()).toBe("abc");
  });

  it("parses frames delivered one byte at a time", () => {
    const wire = Buffer.concat([
      encodeFrame(1, FrameType.REQUEST, 0, Buffer.from("first")),
      encodeFrame(3, FrameType.REQUEST, 2, Buffer.alloc(0)),
      encodeFrame(5, FrameType.DATA, 1, Buffer.from("third")),
    ]);
    const reader = new FrameReader();
    const out: ReadResult[] = [];
    for (const byte of wire) out.push(...reader.push(Buffer.from([byte])));
    const got = frames(out);
    expect(got.map((f) => [f.streamId, f.type, f.flags, f.payload.toString()])).toEqual([
      [1, FrameType.REQUEST, 0, "first"],
      [3, FrameType.REQUEST, 2, ""],
      [5, FrameType.DATA, 1, "third"],
    ]);
    expect(reader.pendingBytes).toBe(0);
  });

  it("parses many frames merged in one chunk and frames split across chunk borders", () => {
    const payloads = Array.from({ length: 50 }, (_, i) => Buffer.alloc(i * 37, i));
    const wire = Buffer.concat(payloads.map((p, i) => encodeFrame(2 * i + 1, FrameType.REQUEST, 0, p)));
    for (const cut of [1, 7, 10, 11, 333, wire.length]) {
      const reader = new FrameReader();
      const out: ReadResult[] = [];
      for (let off = 0; off < wire.length; off += cut)
        out.push(...reader.push(wire.subarray(off, off + cut)));
      const got = frames(out);
      expect(got).toHaveLength(50);
      got.forEach((f, i) => {
        expect(f.streamId).toBe(2 * i + 1);
        expect(f.payload.equals(payloads[i]!)).toBe(true);
      });
    }
  });

  it("accepts a payload of exactly the 4 MiB limit", () => {
    const reader = new FrameReader();
    const payload = Buffer.alloc(MAX_MESSAGE_SIZE, 7);
    const got = reader.push(encodeFrame(1, FrameType.REQUEST, 0, payload));
    expect(got).toHaveLength(1);
    expect(isOversized(got[0]!)).toBe(false);
    expect((got[0] as Frame).payload.length).toBe(MAX_MESSAGE_SIZE);
  });

  it("skips an oversized payload without buffering it and keeps parsing the frames after it", () => {
    const reader = new FrameReader(1024);
    const big = encodeFrame(7, FrameType.REQUEST, 0, Buffer.alloc(5000, 1));
    const next = encodeFrame(9, FrameType.REQUEST, 0, Buffer.from("after"));
    const wire = Buffer.concat([big, next]);
    const out: ReadResult[] = [];
    for (let off = 0; off < wire.length; off += 512) {
      out.push(...reader.push(wire.subarray(off, off + 512)));
      expect(reader.pendingBytes).toBeLessThanOrEqual(1024 + HEADER_SIZE);
    }
    expect(out).toHaveLength(2);
    expect(isOversized(out[0]!)).toBe(true);
    expect(out[0]!.streamId).toBe(7);
    expect(out[0]!.length).toBe(5000);
    expect((out[1] as Frame).payload.toString()).toBe("after");
  });

  it("reports a garbage header with an impossible length as oversized instead of waiting for 4 GiB", () => {
    const reader = new FrameReader();
    const out = reader.push(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xde, 0xad, 0xbe, 0xef, 0x99, 0x77]));
    expect(out).toHaveLength(1);
    expect(isOversized(out[0]!)).toBe(true);
    expect(out[0]!.type).toBe(0x99);
    expect(reader.pendingBytes).toBe(0);
  });
});
