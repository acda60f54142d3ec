import { describe, expect, it } from "vitest";
import { parseBootConfig } from "../../../../agent/init/cmdline.js";
import { GUEST_SHARED_DIR, guestSpec, type OciSpec } from "../../../../shim/spec/guest-spec.js";

const host: OciSpec = {
  ociVersion: "1.0.2",
  process: { args: ["sh"] },
  root: { path: "rootfs", readonly: true },
  hooks: { prestart: [{ path: "/usr/bin/host-hook" }] },
  mounts: [
    { destination: "/proc", type: "proc", source: "proc" },
    { destination: "/data", type: "bind", source: "/srv/data", options: ["rbind", "ro"] },
    { destination: "/etc/hosts", source: "/var/lib/x/hosts", options: ["rbind", "rw"] },
  ],
  linux: {
    namespaces: [{ type: "pid" }, { type: "network", path: "/var/run/netns/cni-1" }],
    cgroupsPath: "/default/c1",
    devices: [{ path: "/dev/fuse" }],
    maskedPaths: ["/proc/kcore"],
  },
};

describe("guest spec", () => {
  it("turns host bind mounts into shares and points the spec at their guest paths", () => {
    const g = guestSpec(host, "c1");
    expect(g.volumes).toEqual([
      { hostSource: "/srv/data", shareRelPath: "c1/mounts/1", readonly: true },
      { hostSource: "/var/lib/x/hosts", shareRelPath: "c1/mounts/2", readonly: false },
    ]);
    expect(g.spec.mounts?.[1]).toEqual({
      destination: "/data",
      type: "bind",
      source: `${GUEST_SHARED_DIR}/c1/mounts/1`,
      options: ["rbind", "ro"],
    });
    expect(g.spec.mounts?.[0]).toEqual(host.mounts?.[0]);
  });

  it("drops host-only parts and keeps the rest, without touching the input", () => {
    const g = guestSpec(host, "c1");
    expect(g.spec.hooks).toBeUndefined();
    expect(g.spec.linux?.namespaces).toEqual([{ type: "pid" }, { type: "network" }]);
    expect(g.spec.linux?.cgroupsPath).toBeUndefined();
    expect(g.spec.linux?.devices).toBeUndefined();
    expect(g.spec.linux?.["maskedPaths"]).toEqual(["/proc/kcore"]);
    expect(g.readonlyRootfs).toBe(true);
    expect(host.linux?.cgroupsPath).toBe("/default/c1");
  });

  it("uses the share path the agent mounts by default", () => {
    expect(parseBootConfig("").sharedFsPath).toBe(GUEST_SHARED_DIR);
  });
});

describe("guest spec namespaces", () => {
  const spec: OciSpec = {
    process: { args: ["sh"] },
    linux: {
      namespaces: [
        { type: "pid", path: "/proc/42/ns/pid" },
        { type: "ipc", path: "/proc/7/ns/ipc" },
        { type: "uts", path: "/proc/42/ns/ipc" },
        { type: "network", path: "/proc/42/ns/net" },
        { type: "mount", path: "/proc/42/ns/mnt" },
      ],
    },
  };

  it("keeps a path naming a pod container's namespace of the same type, drops host and mismatched paths", () => {
    const g = guestSpec(spec, "c2", new Set([42]));
    expect(g.spec.linux?.namespaces).toEqual([
      { type: "pid", path: "/proc/42/ns/pid" },
      { type: "ipc" },
      { type: "uts" },
      { type: "network" },
      { type: "mount" },
    ]);
  });
});
