import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { groupId } from "../../../../shim/bundle/annotations.js";
import { shimSocketPath, socketAddress } from "../../../../shim/launch/socket-address.js";

describe("shim socket address", () => {
  it("is /run/containerd/s/ + sha256(address/namespace/group) like containerd computes it", () => {
    const want = createHash("sha256").update("/run/containerd/containerd.sock/default/c1").digest("hex");
    expect(shimSocketPath("/run/containerd/containerd.sock", "default", "c1")).toBe(
      `/run/containerd/s/${want}`,
    );
    expect(socketAddress("/run/containerd/s/x")).toBe("unix:///run/containerd/s/x");
  });

  it("maps every task of a pod to the pod's socket, and a bare task to its own", () => {
    const pod = { "io.kubernetes.cri.sandbox-id": "pod-1" };
    expect(groupId("ctr-a", pod)).toBe("pod-1");
    expect(groupId("ctr-b", pod)).toBe("pod-1");
    expect(groupId("solo", {})).toBe("solo");
    expect(groupId("solo", undefined)).toBe("solo");
    expect(shimSocketPath("/a", "ns", groupId("ctr-a", pod))).toBe(
      shimSocketPath("/a", "ns", groupId("ctr-b", pod)),
    );
  });

  it("refuses a socket path longer than 106 bytes", () => {
    expect(() => shimSocketPath("/a", "ns", "g", `/${"x".repeat(60)}`)).toThrow("over the 106-byte limit");
  });
});
