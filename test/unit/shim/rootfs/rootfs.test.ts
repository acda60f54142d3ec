/** Real mounts on the host (tests run as root): overlay and bind rootfs, and their removal. */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isMountPoint, mountRootfs, unmountRootfs } from "../../../../shim/rootfs/rootfs.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tskata-rootfs-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("container rootfs on the host", () => {
  it("mounts containerd's overlay rootfs at the share path and removes it again", () => {
    for (const d of ["lower", "upper", "work"]) mkdirSync(join(dir, d));
    writeFileSync(join(dir, "lower/hello"), "from the image\n");
    const target = join(dir, "shared/c1/rootfs");
    mountRootfs(
      [
        {
          type: "overlay",
          source: "overlay",
          options: ["index=off", `workdir=${dir}/work`, `upperdir=${dir}/upper`, `lowerdir=${dir}/lower`],
        },
      ],
      join(dir, "bundle/rootfs"),
      target,
    );
    expect(isMountPoint(target)).toBe(true);
    expect(readFileSync(join(target, "hello"), "utf8")).toBe("from the image\n");
    writeFileSync(join(target, "new"), "x");
    expect(existsSync(join(dir, "upper/new"))).toBe(true);
    unmountRootfs(target, join(dir, "shared/c1"));
    expect(isMountPoint(target)).toBe(false);
    expect(existsSync(join(dir, "shared/c1"))).toBe(false);
    expect(readFileSync(join(dir, "lower/hello"), "utf8")).toBe("from the image\n");
  });

  it("bind-mounts the bundle's rootfs when containerd passes no mounts", () => {
    mkdirSync(join(dir, "bundle/rootfs"), { recursive: true });
    writeFileSync(join(dir, "bundle/rootfs/etc-file"), "y");
    const target = join(dir, "shared/c2/rootfs");
    mountRootfs([], join(dir, "bundle/rootfs"), target);
    expect(readFileSync(join(target, "etc-file"), "utf8")).toBe("y");
    unmountRootfs(target, join(dir, "shared/c2"));
    expect(existsSync(join(dir, "bundle/rootfs/etc-file"))).toBe(true);
  });

  it("fails with the mount named and leaves nothing mounted", () => {
    const target = join(dir, "shared/c3/rootfs");
    expect(() =>
      mountRootfs([{ type: "overlay", source: "overlay", options: [`lowerdir=${dir}/missing`] }], "", target),
    ).toThrow(/rootfs mount overlay overlay on .*c3\/rootfs/);
    expect(isMountPoint(target)).toBe(false);
  });
});
