import { describe, expect, it } from "vitest";
import { sockaddr } from "../../../native/netns-socket.js";

describe("sockaddr encoding", () => {
  it("encodes sockaddr_in: AF_INET, port in network order, address bytes", () => {
    expect(sockaddr("127.0.0.1", 8080).toString("hex")).toBe(`0200${"1f90"}7f000001${"00".repeat(8)}`);
  });

  it("encodes sockaddr_in6 for ::1 and a full address", () => {
    expect(sockaddr("::1", 80).toString("hex")).toBe(
      `0a000050${"00".repeat(4)}${"00".repeat(15)}01${"00".repeat(4)}`,
    );
    expect(sockaddr("fd00:1::2", 1).subarray(8, 24).toString("hex")).toBe("fd000001000000000000000000000002");
  });

  it("refuses what is not an IP literal", () => {
    expect(() => sockaddr("localhost", 80)).toThrow(/not an IP address/);
  });
});
