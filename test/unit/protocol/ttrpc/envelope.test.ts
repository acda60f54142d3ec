import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { RequestSchema, ResponseSchema } from "../../../../protocol/generated/ttrpc/ttrpc_pb.js";
import { Code } from "../../../../protocol/ttrpc/codes.js";
import {
  decodeRequest,
  decodeResponse,
  encodeErrorResponse,
  encodeOkResponse,
  encodeRequest,
  responseResult,
} from "../../../../protocol/ttrpc/envelope.js";
import { TtrpcError } from "../../../../protocol/ttrpc/errors.js";

describe("ttrpc envelope codec agrees with the generated schemas", () => {
  it("encodes a Request the generated decoder reads back field for field", () => {
    const bytes = encodeRequest({
      service: "containerd.task.v2.Task",
      method: "Create",
      payload: new Uint8Array([1, 2, 3]),
      timeoutNano: 5_000_000_000n,
      metadata: new Map([
        ["containerd-namespace-ttrpc", ["default"]],
        ["k", ["a", "b"]],
      ]),
    });
    const req = fromBinary(RequestSchema, bytes);
    expect(req.service).toBe("containerd.task.v2.Task");
    expect(req.method).toBe("Create");
    expect([...req.payload]).toEqual([1, 2, 3]);
    expect(req.timeoutNano).toBe(5_000_000_000n);
    expect(req.metadata.map((m) => [m.key, m.value])).toEqual([
      ["containerd-namespace-ttrpc", "default"],
      ["k", "a"],
      ["k", "b"],
    ]);
  });

  it("decodes a Request the generated encoder wrote, unicode and empty fields included", () => {
    const bytes = toBinary(
      RequestSchema,
      create(RequestSchema, {
        service: "svc.ünï",
        method: "M",
        timeoutNano: 1n,
        metadata: [{ key: "x", value: "" }],
      }),
    );
    const req = decodeRequest(bytes);
    expect(req).toMatchObject({ service: "svc.ünï", method: "M", timeoutNano: 1n });
    expect(req.payload.length).toBe(0);
    expect([...req.metadata]).toEqual([["x", [""]]]);
  });

  it("round-trips error statuses with details, and OK responses, through the generated Response", () => {
    const err = new TtrpcError(Code.FAILED_PRECONDITION, "cannot start a stopped task", [
      { $typeName: "google.protobuf.Any", typeUrl: "x.Detail", value: new Uint8Array([9]) },
    ]);
    const res = fromBinary(ResponseSchema, encodeErrorResponse(err));
    expect(res.status?.code).toBe(Code.FAILED_PRECONDITION);
    expect(res.status?.message).toBe("cannot start a stopped task");
    expect(res.status?.details[0]?.typeUrl).toBe("x.Detail");

    const back = responseResult(decodeResponse(toBinary(ResponseSchema, res)));
    expect(back).toBeInstanceOf(TtrpcError);
    expect(back).toMatchObject({ code: Code.FAILED_PRECONDITION, message: "cannot start a stopped task" });
    expect((back as TtrpcError).details[0]?.value).toEqual(new Uint8Array([9]));

    const ok = decodeResponse(encodeOkResponse(new Uint8Array([7, 7])));
    expect(ok.status).toBeUndefined();
    expect([...ok.payload]).toEqual([7, 7]);
  });

  it("skips unknown fields and rejects a known field with the wrong wire type", () => {
    const unknownThenMethod = new Uint8Array([0x30, 0x05, 0x12, 0x01, 0x4d]); // field 6 varint, then method "M"
    expect(decodeRequest(unknownThenMethod).method).toBe("M");
    expect(() => decodeRequest(new Uint8Array([0x10, 0x01]))).toThrow("field 2: wire type 0, want 2");
    expect(() => decodeRequest(new Uint8Array([0x1a, 0x05, 0x01]))).toThrow("premature EOF");
    expect(() => decodeRequest(new Uint8Array([0x00]))).toThrow("illegal field number 0");
  });
});
