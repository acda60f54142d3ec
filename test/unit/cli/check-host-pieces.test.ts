/** The smaller `tskata check` verdicts, each on faked inputs. */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkAgentChannel } from "../../../cli/check/agent-channel.js";
import { checkCgroups } from "../../../cli/check/cgroups.js";
import { checkContainerdConfig } from "../../../cli/check/containerd-config.js";
import { checkGuestImage } from "../../../cli/check/guest-image.js";
import { checkSharedFs } from "../../../cli/check/shared-fs.js";
import { checkTcMirred } from "../../../cli/check/tc-mirred.js";
import { type KernelSources, kernelFeature } from "../../../cli/host/kernel-feature.js";
import { describeArtifact, type Manifest, readManifest } from "../../../guest-image/manifest.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tskata-check-pieces-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function kernelTree(
  name: string,
  files: { modules?: string; builtin?: string; config?: string },
): KernelSources {
  const root = join(dir, name);
  mkdirSync(join(root, "sys-module"), { recursive: true });
  mkdirSync(join(root, "lib-modules"), { recursive: true });
  if (files.modules !== undefined) writeFileSync(join(root, "modules"), files.modules);
  if (files.builtin !== undefined) writeFileSync(join(root, "lib-modules", "modules.builtin"), files.builtin);
  if (files.config !== undefined) writeFileSync(join(root, "config.gz"), gzipSync(files.config));
  return {
    procModules: join(root, "modules"),
    sysModule: join(root, "sys-module"),
    modulesDir: join(root, "lib-modules"),
    configGz: join(root, "config.gz"),
  };
}

describe("tskata check: pod networking (tc mirred)", () => {
  it("finds act_mirred loaded, listed as built in, or set in the kernel config", () => {
    const loaded = kernelTree("loaded", {
      modules: "act_mirred 28672 0 - Live 0x0\nsch_ingress 16384 0 - Live 0x0\n",
    });
    const builtin = kernelTree("builtin", {
      builtin: "kernel/net/sched/act_mirred.ko\nkernel/net/sched/sch_ingress.ko\n",
    });
    const config = kernelTree("config", { config: "CONFIG_NET_ACT_MIRRED=y\nCONFIG_NET_SCH_INGRESS=m\n" });
    for (const src of [loaded, builtin, config]) {
      const result = checkTcMirred({ tcPath: "/usr/sbin/tc", feature: (f) => kernelFeature(f, src) });
      expect(result.status, result.detail).toBe("ok");
    }
  });

  it("warns naming act_mirred and tc when neither is there", () => {
    const none = kernelTree("none", {
      config: "# CONFIG_NET_ACT_MIRRED is not set\nCONFIG_NET_SCH_INGRESS=y\n",
    });
    const result = checkTcMirred({ tcPath: undefined, feature: (f) => kernelFeature(f, none) });
    expect(result.status).toBe("warn");
    expect(result.detail).toContain("tc not found");
    expect(result.detail).toContain("act_mirred unavailable");
    expect(result.detail).not.toContain("sch_ingress unavailable");
    expect(result.remedy).toContain("iproute2");
  });
});

describe("tskata check: agent channel and shared fs", () => {
  it("accepts virtio-serial when vhost-vsock is unusable, unless vsock is configured", async () => {
    const vsock = async () => ({ usable: false as const, reason: "/dev/vhost-vsock does not exist" });
    expect((await checkAgentChannel({ transport: "auto", vsock })).status).toBe("ok");
    const forced = await checkAgentChannel({ transport: "vsock", vsock });
    expect(forced.status).toBe("fail");
    expect(forced.detail).toContain("/dev/vhost-vsock does not exist");
  });

  it("falls back to 9p with a warning when virtiofsd is missing, and fails where 9p cannot work", () => {
    const none = () => false;
    const base = { virtiofsdPath: "/nope/virtiofsd", isExecutable: none };
    expect(checkSharedFs({ ...base, setting: "auto", machineType: "q35" }).status).toBe("warn");
    expect(checkSharedFs({ ...base, setting: "auto", machineType: "microvm" }).status).toBe("fail");
    expect(checkSharedFs({ ...base, setting: "virtio-fs", machineType: "q35" }).detail).toContain(
      "/nope/virtiofsd",
    );
  });

  it("reads the cgroup layout from the mount table", () => {
    expect(checkCgroups({ mounts: "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n" }).detail).toContain(
      "v2 (unified)",
    );
    expect(checkCgroups({ mounts: "proc /proc proc rw 0 0\n" }).status).toBe("warn");
  });
});

describe("tskata check: containerd config", () => {
  const read = (text: string | undefined) => () => text;
  it("is ok when a runtime handler has runtime_type io.containerd.tskata.v2", () => {
    const text =
      'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata]\nruntime_type = "io.containerd.tskata.v2"\n';
    const result = checkContainerdConfig({ path: "/x/config.toml", read: read(text) });
    expect(result.status).toBe("ok");
    expect(result.detail).toContain('"kata"');
  });
  it("warns when the file or the handler is missing", () => {
    expect(checkContainerdConfig({ path: "/x/config.toml", read: read(undefined) }).status).toBe("warn");
    const runcOnly =
      'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\nruntime_type = "io.containerd.runc.v2"\n';
    const result = checkContainerdConfig({ path: "/x/config.toml", read: read(runcOnly) });
    expect(result.status).toBe("warn");
    expect(result.remedy).toContain("tskata install");
  });
});

describe("tskata check: guest image", () => {
  async function setUp(name: string): Promise<{ kernel: string; image: string; manifestPath: string }> {
    const guest = join(dir, name);
    mkdirSync(guest);
    const kernel = join(guest, "vmlinuz");
    const image = join(guest, "rootfs.ext4");
    writeFileSync(kernel, "kernel bytes");
    writeFileSync(image, "image bytes");
    const manifest = {
      kernel: { package: "linux-image-x", version: "1", release: "6.1.0-test" },
      format: "ext4",
      builtAt: "2026-12-01T00:00:00.000Z",
      artifacts: { kernel: await describeArtifact(kernel), rootfs: await describeArtifact(image) },
    } as unknown as Manifest;
    const manifestPath = join(guest, "manifest.json");
    writeFileSync(manifestPath, JSON.stringify(manifest));
    return { kernel, image, manifestPath };
  }
  const io = async (paths: { kernel: string; image: string; manifestPath: string }) =>
    checkGuestImage({
      ...paths,
      initrd: undefined,
      readManifest,
      exists: existsSync,
      describe: describeArtifact,
    });

  it("is ok when the booted files match the manifest, and fails naming a file that does not", async () => {
    const paths = await setUp("match");
    expect((await io(paths)).status).toBe("ok");
    writeFileSync(paths.image, "image bytes, changed");
    const result = await io(paths);
    expect(result.status).toBe("fail");
    expect(result.detail).toContain(paths.image);
  });

  it("fails naming a missing kernel", async () => {
    const paths = await setUp("missing");
    rmSync(paths.kernel);
    const result = await io(paths);
    expect(result.status).toBe("fail");
    expect(result.detail).toContain(`kernel ${paths.kernel}`);
  });
});
