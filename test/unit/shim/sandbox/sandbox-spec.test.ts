/**
 * Which plain containers get a network in their VM: by host hooks after boot (hookNetwork),
 * for those asking for a network namespace of their own with a host hook that runs before they
 * start, as Docker's bridge networks do (libnetwork-setkey configures /proc/PID/ns/net); or the
 * netns its caller configured (givenNetnsPath: podman's networks).
 */
import { describe, expect, it } from "vitest";
import { sandboxSpecFor } from "../../../../shim/sandbox/sandbox-spec.js";
import type { OciSpec } from "../../../../shim/spec/guest-spec.js";

const setkey = {
  path: "/usr/sbin/dockerd",
  args: ["libnetwork-setkey", "-exec-root=/run/docker", "c1", "abc"],
};

function spec(network: { type: string; path?: string } | undefined, hooks: Record<string, unknown>): OciSpec {
  return {
    ociVersion: "1.0.2",
    process: { args: ["sh"], cwd: "/" },
    root: { path: "rootfs" },
    hooks,
    linux: { namespaces: [{ type: "mount" }, { type: "pid" }, ...(network ? [network] : [])] },
  } as unknown as OciSpec;
}

describe("sandbox spec: a network configured by host hooks", () => {
  it("is expected for a new network namespace with a prestart or createRuntime hook (Docker's bridge)", () => {
    expect(sandboxSpecFor("c1", "c1", spec({ type: "network" }, { prestart: [setkey] })).hookNetwork).toBe(
      true,
    );
    expect(
      sandboxSpecFor("c1", "c1", spec({ type: "network" }, { createRuntime: [setkey] })).hookNetwork,
    ).toBe(true);
  });

  it("is not expected without such a hook, for a given netns path, or for hooks that run later", () => {
    expect(sandboxSpecFor("c1", "c1", spec({ type: "network" }, {})).hookNetwork).toBeUndefined();
    expect(
      sandboxSpecFor("c1", "c1", spec({ type: "network", path: "/run/netns/x" }, { prestart: [setkey] }))
        .hookNetwork,
    ).toBeUndefined();
    expect(
      sandboxSpecFor("c1", "c1", spec({ type: "network" }, { poststart: [setkey] })).hookNetwork,
    ).toBeUndefined();
  });

  it("keeps a plain container's given netns path for the VM (podman's networks), never a CRI app's", () => {
    const given = sandboxSpecFor("c1", "c1", spec({ type: "network", path: "/run/netns/podman-1" }, {}));
    expect(given.givenNetnsPath).toBe("/run/netns/podman-1");
    expect(given.netnsPath).toBeUndefined();
    expect(sandboxSpecFor("c1", "c1", spec({ type: "network" }, {})).givenNetnsPath).toBeUndefined();
  });
});
