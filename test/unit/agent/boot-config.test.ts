import { describe, expect, it } from "vitest";
import { shouldApplyHostTime, wallClockFromHost } from "../../../agent/init/clock.js";
import { DEFAULT_BOOT_CONFIG, parseBootConfig, splitCmdline } from "../../../agent/init/cmdline.js";
import { parseMountPoints } from "../../../agent/init/mounts.js";
import { mountsToRelease } from "../../../agent/init/poweroff.js";

describe("kernel command line", () => {
  it("splits on spaces and keeps quoted values whole", () => {
    expect(splitCmdline('console=ttyS0  quiet tskata.x="a b" panic=-1\n')).toEqual([
      "console=ttyS0",
      "quiet",
      "tskata.x=a b",
      "panic=-1",
    ]);
  });

  it("defaults when no tskata parameter is given", () => {
    expect(parseBootConfig("console=ttyS0 quiet root=/dev/vda")).toEqual(DEFAULT_BOOT_CONFIG);
  });

  it("reads the tskata parameters", () => {
    const cfg = parseBootConfig(
      "quiet tskata.channel=serial tskata.port=agent.1 tskata.hostname=pod-1 tskata.time=1795000000123 " +
        "tskata.sharefs=virtiofs:tskata tskata.sharefs_path=/run/share tskata.log=debug tskata.root=/dev/vda",
    );
    expect(cfg).toMatchObject({
      channel: "serial",
      serialPort: "agent.1",
      hostname: "pod-1",
      hostTimeMs: 1795000000123,
      sharedFs: { type: "virtiofs", tag: "tskata" },
      sharedFsPath: "/run/share",
      logLevel: "debug",
    });
  });

  it("rejects malformed values with the parameter named", () => {
    for (const bad of [
      "tskata.channel=tcp",
      "tskata.time=soon",
      "tskata.sharefs=nfs:x",
      "tskata.hostname=-x",
    ]) {
      expect(() => parseBootConfig(bad)).toThrow(
        expect.objectContaining({ code: "ERR_AGENT_BAD_CMDLINE", message: expect.stringContaining(bad) }),
      );
    }
  });
});

describe("guest clock", () => {
  it("adds the guest uptime to the host's launch time", () => {
    expect(wallClockFromHost(1_000, 2.5)).toBe(3_500_000_000n);
  });

  it("only moves the clock forward (both sources are lower bounds)", () => {
    expect(shouldApplyHostTime(10_500_000_000n, 10_000_000_000n)).toBe(true);
    // a host time read long before QEMU started must not pull an RTC-set clock back
    expect(shouldApplyHostTime(10_000_000_000n, 30_000_000_000n)).toBe(false);
  });
});

describe("mounts", () => {
  const mountinfo = `22 1 254:0 / / ro,relatime - ext4 /dev/vda ro
23 22 0:5 / /dev rw,nosuid - devtmpfs devtmpfs rw
30 22 0:25 / /run rw,nosuid,nodev - tmpfs tmpfs rw
31 30 0:40 / /run/tskata/shared rw - virtiofs tskata rw
32 31 0:41 / /run/tskata/shared/c1/rootfs rw - overlay overlay rw
33 22 0:42 / /mnt/with\\040space rw - tmpfs tmpfs rw
`;

  it("parses mount points with escapes", () => {
    const points = parseMountPoints(mountinfo);
    expect(points.has("/run/tskata/shared")).toBe(true);
    expect(points.has("/mnt/with space")).toBe(true);
  });

  it("releases shares and container mounts deepest first, keeping the system mounts", () => {
    expect(mountsToRelease(parseMountPoints(mountinfo))).toEqual([
      "/run/tskata/shared/c1/rootfs",
      "/run/tskata/shared",
      "/mnt/with space",
    ]);
  });
});
