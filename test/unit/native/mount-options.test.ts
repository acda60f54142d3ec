import { describe, expect, it } from "vitest";
import { MountFlags } from "../../../native/mount.js";
import { parseMountOptions } from "../../../native/mount-options.js";

describe("mount options", () => {
  it("splits flags from filesystem data, as containerd's overlay mounts need", () => {
    const p = parseMountOptions(["index=off", "workdir=/w", "upperdir=/u", "lowerdir=/l1:/l2"]);
    expect(p).toEqual({
      flags: 0,
      data: "index=off,workdir=/w,upperdir=/u,lowerdir=/l1:/l2",
      propagation: 0,
      bind: false,
      readonly: false,
    });
  });

  it("reads bind, ro and later overrides in order", () => {
    const p = parseMountOptions(["rbind", "ro", "nosuid"]);
    expect(p.flags).toBe(MountFlags.BIND | MountFlags.REC | MountFlags.RDONLY | MountFlags.NOSUID);
    expect(p).toMatchObject({ bind: true, readonly: true, data: "" });
    expect(parseMountOptions(["ro", "rw"]).readonly).toBe(false);
  });

  it("keeps propagation apart from the other flags", () => {
    expect(parseMountOptions(["bind", "rprivate"])).toMatchObject({
      flags: MountFlags.BIND,
      propagation: MountFlags.PRIVATE | MountFlags.REC,
    });
  });
});
