/**
 * Mount points in the guest-writable share are made without following what the guest planted
 * there: real mounts on the host (tests run as root). Nothing outside the share is created,
 * mounted or changed; a path swapped after the check still gets the mount on the inode checked.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MountFlags, mount, UmountFlags, umount } from "../../../../native/mount.js";
import { isMountPoint, mountRootfs, unmountRootfs } from "../../../../shim/rootfs/rootfs.js";
import { openShareTarget } from "../../../../shim/rootfs/share-target.js";
import { shareVolume } from "../../../../shim/rootfs/volume.js";

let dir: string;
let share: string;
let outside: string;
let volume: string;

function mountsUnder(path: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m === path || m.startsWith(`${path}/`));
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tskata-share-"));
  share = join(dir, "shared");
  outside = join(dir, "host-etc");
  volume = join(dir, "volume");
  for (const d of [share, outside, volume]) mkdirSync(d);
  writeFileSync(join(outside, "passwd"), "host file\n");
  writeFileSync(join(volume, "data"), "volume\n");
});

afterEach(() => {
  for (const m of mountsUnder(dir).sort((a, b) => b.length - a.length)) umount(m, UmountFlags.DETACH);
  rmSync(dir, { recursive: true, force: true });
});

describe("share targets: nothing outside the sandbox's share is touched", () => {
  it("binds a volume at a fresh path below the share, creating each directory", () => {
    const target = join(share, "c1/mounts/0");
    shareVolume(volume, target, true, share);
    expect(readFileSync(join(target, "data"), "utf8")).toBe("volume\n");
    expect(isMountPoint(target)).toBe(true);
    expect(() => writeFileSync(join(target, "x"), "")).toThrow(/EROFS/);
  });

  it("refuses a container directory the guest replaced by a symlink to a host directory", () => {
    symlinkSync(outside, join(share, "c1"));
    expect(() => shareVolume(volume, join(share, "c1/mounts/0"), false, share)).toThrow(
      expect.objectContaining({
        code: "ROOTFS_MOUNT_FAILED",
        message: expect.stringMatching(/is a symlink/),
      }),
    );
    expect(readdirSync(outside)).toEqual(["passwd"]);
    expect(mountsUnder(dir)).toEqual([]);
  });

  it("refuses a file mount point the guest made a symlink to a host file (resolv.conf → /etc/passwd)", () => {
    mkdirSync(join(share, "c1/mounts"), { recursive: true });
    symlinkSync(join(outside, "passwd"), join(share, "c1/mounts/3"));
    const source = join(dir, "resolv.conf");
    writeFileSync(source, "nameserver 10.0.0.1\n");
    expect(() => shareVolume(source, join(share, "c1/mounts/3"), true, share)).toThrow(/is a symlink/);
    expect(readFileSync(join(outside, "passwd"), "utf8")).toBe("host file\n");
    expect(mountsUnder(dir)).toEqual([]);
  });

  it("refuses a rootfs target below a planted symlink, and a target outside the share", () => {
    symlinkSync(outside, join(share, "c2"));
    expect(() => mountRootfs([], volume, join(share, "c2/rootfs"), share)).toThrow(/is a symlink/);
    expect(() => mountRootfs([], volume, join(share, "../escape"), share)).toThrow(/not below the share/);
    expect(existsSync(join(dir, "escape"))).toBe(false);
    expect(readdirSync(outside)).toEqual(["passwd"]);
    expect(mountsUnder(dir)).toEqual([]);
  });

  it("mounts onto the inode it checked even when the path is swapped for a symlink before the mount", () => {
    const target = join(share, "c3/mounts/0");
    const opened = openShareTarget(share, target, "dir");
    // The guest swaps the checked directory for a symlink to a host directory.
    renameSync(join(share, "c3/mounts"), join(share, "c3/moved"));
    mkdirSync(join(share, "c3/mounts"));
    symlinkSync(outside, join(share, "c3/mounts/0"));
    try {
      mount({ source: volume, target: opened.mountPath, fstype: null, flags: MountFlags.BIND });
    } finally {
      opened.close();
    }
    expect(readFileSync(join(share, "c3/moved/0/data"), "utf8")).toBe("volume\n");
    expect(readdirSync(outside)).toEqual(["passwd"]);
    expect(mountsUnder(outside)).toEqual([]);
  });

  it("mounts a container's bundle rootfs and removes it again (no symlink followed on unmount)", () => {
    const target = join(share, "c4/rootfs");
    mountRootfs([], volume, target, share);
    expect(readFileSync(join(target, "data"), "utf8")).toBe("volume\n");
    unmountRootfs(target, join(share, "c4"));
    expect(existsSync(join(share, "c4"))).toBe(false);
    expect(readFileSync(join(volume, "data"), "utf8")).toBe("volume\n");
  });
});
