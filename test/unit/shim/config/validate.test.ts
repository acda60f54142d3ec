import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../../../shim/config/errors.js";
import { loadConfig, parseConfig } from "../../../../shim/config/load.js";
import type { GuestArtifacts } from "../../../../shim/config/paths.js";

let dir: string;
let kernel: string;
let initrd: string;
let image: string;
let guest: () => GuestArtifacts;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tskata-config-"));
  kernel = join(dir, "vmlinuz");
  initrd = join(dir, "initrd.img");
  image = join(dir, "rootfs.img");
  for (const f of [kernel, initrd, image]) writeFileSync(f, "x");
  guest = () => ({
    kernel,
    image,
    initrd: undefined,
    kernelCmdline: "quiet tskata.root=/dev/vda",
    guestDir: { dir, reason: "env TSKATA_GUEST_DIR" },
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function parse(text: string) {
  return parseConfig(text, { baseDir: dir, guestArtifacts: guest, source: "test.toml" });
}

function errorOf(text: string): ConfigError {
  try {
    parse(text);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("configuration defaults", () => {
  it("an empty file gives the documented defaults with the guest image artifacts", () => {
    const c = parse("");
    expect(c.hypervisor).toMatchObject({
      path: "/usr/bin/qemu-system-x86_64",
      machineType: "q35",
      accel: "auto",
      vcpus: 1,
      memoryMib: 512,
      maxVcpus: 0,
      maxMemoryMib: 0,
      kernel,
      image,
      initrd: undefined,
      sharedFs: "auto",
      agentTransport: "auto",
      kernelParams: "quiet tskata.root=/dev/vda",
    });
    expect(c.agent).toEqual({
      dialTimeoutMs: 30_000,
      vsockPort: 1024,
      serialPortName: "agent.0",
      debugExec: false,
    });
    expect(c.runtime).toEqual({ stateDir: "/run/tskata", logLevel: "info" });
  });

  it("the documented configuration.toml at the repo root is valid and equals the defaults", () => {
    const fromFile = loadConfig(join(import.meta.dirname, "../../../../configuration.toml"), {
      guestArtifacts: guest,
    });
    const defaults = parse("");
    expect({ ...fromFile, source: "" }).toEqual({ ...defaults, source: "" });
  });

  it("hotplug ceilings: explicit values at or above the base are kept", () => {
    const c = parse("[hypervisor]\nvcpus = 2\nmax_vcpus = 2\nmemory_mib = 512\nmax_memory_mib = 4096");
    expect(c.hypervisor).toMatchObject({ vcpus: 2, maxVcpus: 2, memoryMib: 512, maxMemoryMib: 4096 });
  });

  it("setting initrd alone replaces the default image; relative paths resolve against the file", () => {
    const c = parse(`[hypervisor]\ninitrd = "initrd.img"\nkernel_params = "debug"`);
    expect(c.hypervisor.initrd).toBe(initrd);
    expect(c.hypervisor.image).toBeUndefined();
    expect(c.hypervisor.kernelParams).toBe("debug");
  });
});

describe("configuration errors name the key", () => {
  const cases: [string, string, string][] = [
    ["memory 0", "[hypervisor]\nmemory_mib = 0", "hypervisor.memory_mib: must be >= 64, got 0"],
    [
      "memory not an integer",
      '[hypervisor]\nmemory_mib = "512"',
      'hypervisor.memory_mib: must be an integer, got "512"',
    ],
    [
      "unknown machine type",
      '[hypervisor]\nmachine_type = "virt"',
      'hypervisor.machine_type: must be one of "q35", "microvm", "pc", got "virt"',
    ],
    ["unknown key", "[hypervisor]\nmemroy_mib = 512", "hypervisor.memroy_mib: unknown key"],
    ["unknown section", "[hypervisr]\nvcpus = 1", "hypervisr: unknown section"],
    ["vcpus 0", "[hypervisor]\nvcpus = 0", "hypervisor.vcpus: must be >= 1, got 0"],
    [
      "bad accel",
      '[hypervisor]\naccel = "hvf"',
      'hypervisor.accel: must be one of "kvm", "tcg", "auto", got "hvf"',
    ],
    [
      "missing kernel file",
      '[hypervisor]\nkernel = "/nonexistent/vmlinuz"',
      "hypervisor.kernel: file not found: /nonexistent/vmlinuz",
    ],
    [
      "missing image file",
      '[hypervisor]\nimage = "nope.img"',
      `hypervisor.image: file not found: ${"DIR"}/nope.img`,
    ],
    ["qemu not executable", '[hypervisor]\npath = "vmlinuz"', "hypervisor.path: not executable: DIR/vmlinuz"],
    [
      "neither image nor initrd",
      '[hypervisor]\nimage = ""',
      "hypervisor.image: one of hypervisor.image or hypervisor.initrd",
    ],
    [
      "9p on microvm",
      '[hypervisor]\nmachine_type = "microvm"\nshared_fs = "virtio-9p"',
      "hypervisor.shared_fs: virtio-9p needs a PCI machine",
    ],
    ["bad transport", '[hypervisor]\nagent_transport = "tcp"', "hypervisor.agent_transport: must be one of"],
    [
      "relative state dir",
      '[runtime]\nstate_dir = "run"',
      'runtime.state_dir: must be an absolute path, got "run"',
    ],
    ["bad log level", '[runtime]\nlog_level = "loud"', "runtime.log_level: must be one of"],
    ["bad port name", '[agent]\nserial_port_name = "a b"', "agent.serial_port_name: must be 1-64 characters"],
    [
      "dial timeout too small",
      "[agent]\ndial_timeout_ms = 5",
      "agent.dial_timeout_ms: must be >= 100, got 5",
    ],
    ["section not a table", "hypervisor = 3", "hypervisor: must be a table, got 3"],
    [
      "max_memory_mib below memory_mib",
      "[hypervisor]\nmemory_mib = 1024\nmax_memory_mib = 512",
      "hypervisor.max_memory_mib: must be 0 (the host's) or >= hypervisor.memory_mib (1024), got 512",
    ],
    [
      "max_vcpus below vcpus",
      "[hypervisor]\nvcpus = 4\nmax_vcpus = 2",
      "hypervisor.max_vcpus: must be 0 (the host's) or >= hypervisor.vcpus (4), got 2",
    ],
    ["max_vcpus above 255", "[hypervisor]\nmax_vcpus = 256", "hypervisor.max_vcpus: must be <= 255, got 256"],
    [
      "max_memory_mib negative",
      "[hypervisor]\nmax_memory_mib = -1",
      "hypervisor.max_memory_mib: must be >= 0, got -1",
    ],
    [
      "bool as string",
      '[hypervisor]\nfree_page_reporting = "yes"',
      'hypervisor.free_page_reporting: must be true or false, got "yes"',
    ],
  ];
  for (const [name, text, message] of cases) {
    it(name, () => {
      const err = errorOf(text);
      expect(err.code).toBe("CONFIG_INVALID");
      expect(err.message).toContain(message.replaceAll("DIR", dir));
      expect(err.key).toBe(message.split(":")[0]);
    });
  }

  it("reports every bad key at once", () => {
    const err = errorOf('[hypervisor]\nmemory_mib = 0\nmachine_type = "virt"\nbogus = 1');
    expect(err.issues.map((i) => i.key).sort()).toEqual([
      "hypervisor.bogus",
      "hypervisor.machine_type",
      "hypervisor.memory_mib",
    ]);
    expect(err.message).toContain("(in test.toml)");
  });

  it("a default kernel that does not exist names where the default came from", () => {
    const missing = (): GuestArtifacts => ({ ...guest(), kernel: join(dir, "missing-vmlinuz") });
    try {
      parseConfig("", { baseDir: dir, guestArtifacts: missing });
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).message).toContain(
        `hypervisor.kernel: file not found: ${dir}/missing-vmlinuz (default from env TSKATA_GUEST_DIR ${dir})`,
      );
    }
  });

  it("TOML syntax errors say where", () => {
    const err = errorOf("[hypervisor\nvcpus = 1");
    expect(err.code).toBe("CONFIG_SYNTAX");
    expect(err.message).toMatch(/TOML syntax error at line 1/);
  });

  it("an unreadable file is CONFIG_UNREADABLE", () => {
    expect(() => loadConfig(join(dir, "absent.toml"))).toThrow(/cannot read .*absent.toml: ENOENT/);
  });

  it("an executable virtiofsd is required only when virtio-fs is forced", () => {
    const fake = join(dir, "virtiofsd");
    writeFileSync(fake, "");
    chmodSync(fake, 0o644);
    const err = errorOf(`[hypervisor]\nshared_fs = "virtio-fs"\nvirtiofsd_path = "${fake}"`);
    expect(err.message).toContain(`hypervisor.virtiofsd_path: not executable: ${fake}`);
    expect(() => parse(`[hypervisor]\nshared_fs = "auto"\nvirtiofsd_path = "${fake}"`)).not.toThrow();
  });
});
