import { describe, expect, it } from "vitest";
import { guestSpec } from "../../../agent/container/bundle.js";
import {
  allCapabilities,
  allowsEveryDevice,
  grantCapabilities,
  isPrivileged,
  listGuestDevices,
} from "../../../agent/container/privileged.js";
import type { OciSpec } from "../../../agent/spec/types.js";
import { baseSpec } from "../../fixtures/agent-vm.js";

const ALL_DEVICES = { allow: true, access: "rwm" };
const DENY_ALL = { allow: false, access: "rwm" };

function specWithDeviceRules(rules: unknown[]): OciSpec {
  const spec = baseSpec(["true"]) as OciSpec;
  spec.linux = { ...spec.linux, resources: { devices: rules }, devices: [{ path: "/dev/host-only" }] };
  return spec;
}

const plan = (spec: OciSpec) => ({
  id: "c1",
  spec,
  rootfs: { kind: "shared" as const, path: "/x" },
  readonly: false,
  terminal: false,
  storages: [],
  netns: undefined,
});

describe("a privileged container in the guest", () => {
  it("is the one whose device cgroup allows every device (the last wildcard rule decides)", () => {
    expect(allowsEveryDevice(specWithDeviceRules([ALL_DEVICES]))).toBe(true);
    expect(allowsEveryDevice(specWithDeviceRules([DENY_ALL, ALL_DEVICES]))).toBe(true);
    // containerd's unprivileged default: deny all, then allow a few devices by number
    const unprivileged = [DENY_ALL, { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }];
    expect(allowsEveryDevice(specWithDeviceRules(unprivileged))).toBe(false);
    expect(allowsEveryDevice(specWithDeviceRules([ALL_DEVICES, DENY_ALL]))).toBe(false);
    expect(allowsEveryDevice(specWithDeviceRules([{ allow: true, access: "m" }]))).toBe(false);
    expect(allowsEveryDevice(baseSpec(["true"]) as OciSpec)).toBe(false);
  });

  it("is also the spec shaped as runtimes shape a privileged one (writable sysfs, nothing masked)", () => {
    // containerd's WithPrivileged under the CRI's privileged_without_host_devices: no allow-all rule
    const spec = specWithDeviceRules([DENY_ALL]);
    expect(isPrivileged(spec)).toBe(false); // the fixture: read-only sysfs, masked paths
    const sysfs = spec.mounts?.find((m) => m.destination === "/sys");
    sysfs!.options = ["nosuid", "noexec", "nodev"];
    expect(isPrivileged(spec)).toBe(false); // still masked
    spec.linux!["maskedPaths"] = [];
    delete spec.linux!["readonlyPaths"];
    expect(isPrivileged(spec)).toBe(true);
    const out = guestSpec(plan(spec), "/r", { devices: [], capabilities: allCapabilities(40) });
    expect(out.linux?.resources?.["devices"]).toEqual([{ allow: true, access: "rwm" }]);
    expect(out.linux?.["devices"]).toEqual([]);
  });

  it("gets the guest's devices and every guest capability in place of the host's", () => {
    const grant = {
      devices: [
        { path: "/dev/vda", type: "b" as const, major: 254, minor: 0, fileMode: 0o660, uid: 0, gid: 6 },
      ],
      capabilities: allCapabilities(40),
    };
    const out = guestSpec(plan(specWithDeviceRules([ALL_DEVICES])), "/r", grant);
    expect(out.linux?.["devices"]).toEqual(grant.devices);
    const caps = out.process["capabilities"] as Record<string, string[]>;
    expect(caps["effective"]).toHaveLength(41);
    expect(caps["bounding"]).toContain("CAP_SYS_RESOURCE");
    expect(caps["inheritable"]).toBeUndefined(); // only the sets the spec has
  });

  it("an unprivileged container keeps its spec's devices and capabilities", () => {
    const spec = specWithDeviceRules([DENY_ALL]);
    const out = guestSpec(plan(spec), "/r", { devices: [], capabilities: allCapabilities(40) });
    expect(out.linux?.["devices"]).toEqual([{ path: "/dev/host-only" }]);
    expect(out.process["capabilities"]).toEqual(spec.process["capabilities"]);
  });

  it("capabilities stop at the kernel's last one; an exec's process gets the same grant", () => {
    expect(allCapabilities(37).at(-1)).toBe("CAP_AUDIT_READ");
    expect(allCapabilities(40).at(-1)).toBe("CAP_CHECKPOINT_RESTORE");
    expect(allCapabilities(99)).toHaveLength(41);
    const proc: Record<string, unknown> = {
      capabilities: { effective: ["CAP_CHOWN"], ambient: ["CAP_CHOWN"] },
    };
    grantCapabilities(proc, allCapabilities(2));
    expect(proc["capabilities"]).toEqual({
      effective: ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH"],
      ambient: ["CAP_CHOWN"],
    });
  });

  it("lists char and block devices of a /dev tree with their numbers, skipping pts and the console", () => {
    const devices = listGuestDevices("/dev");
    expect(devices).toContainEqual(
      expect.objectContaining({ path: "/dev/null", type: "c", major: 1, minor: 3 }),
    );
    expect(devices.map((d) => d.path)).not.toContain("/dev/console");
    expect(devices.some((d) => d.path.startsWith("/dev/pts/"))).toBe(false);
  });
});
