/**
 * The key table of `configuration.toml`: every section, key, type, bound and default.
 * `validate.ts` walks it; the documented file at the repo root mirrors it.
 */
import {
  ACCEL_SETTINGS,
  AGENT_TRANSPORTS,
  LOG_LEVELS,
  MACHINE_TYPES,
  ROOT_IMAGE_DEVICES,
  SHARED_FS_SETTINGS,
  VIRTIOFS_CACHE_MODES,
} from "./types.js";

export type KeySpec =
  | { kind: "string"; default: string; pattern?: RegExp; patternText?: string }
  | { kind: "int"; default: number; min: number; max: number }
  | { kind: "bool"; default: boolean }
  | { kind: "enum"; default: string; values: readonly string[] }
  /** A filesystem path; relative paths resolve against the config file's directory. */
  | { kind: "path"; default: string; check: "executable" | "file" | "absolute-dir" | "none" };

export type SectionSpec = Record<string, KeySpec>;

export const SCHEMA: Record<"hypervisor" | "agent" | "runtime" | "factory", SectionSpec> = {
  hypervisor: {
    path: { kind: "path", default: "/usr/bin/qemu-system-x86_64", check: "executable" },
    machine_type: { kind: "enum", default: "q35", values: MACHINE_TYPES },
    accel: { kind: "enum", default: "auto", values: ACCEL_SETTINGS },
    cpu_model: {
      kind: "string",
      default: "",
      pattern: /^[A-Za-z0-9_.,=+-]*$/,
      patternText: "a QEMU -cpu model",
    },
    vcpus: { kind: "int", default: 1, min: 1, max: 255 },
    memory_mib: { kind: "int", default: 512, min: 64, max: 1_048_576 },
    // Growth room for hotplug (0 = the host's); cross-checked against vcpus/memory_mib in validate.ts.
    max_vcpus: { kind: "int", default: 0, min: 0, max: 255 },
    max_memory_mib: { kind: "int", default: 0, min: 0, max: 1_048_576 },
    // Empty kernel = the guest image's kernel; image/initrd handled together in validate.ts.
    kernel: { kind: "path", default: "", check: "file" },
    image: { kind: "path", default: "", check: "file" },
    root_image_device: { kind: "enum", default: "auto", values: ROOT_IMAGE_DEVICES },
    initrd: { kind: "path", default: "", check: "file" },
    kernel_params: { kind: "string", default: "" },
    shared_fs: { kind: "enum", default: "auto", values: SHARED_FS_SETTINGS },
    virtiofsd_path: { kind: "path", default: "/usr/lib/qemu/virtiofsd", check: "none" },
    virtiofs_cache: { kind: "enum", default: "auto", values: VIRTIOFS_CACHE_MODES },
    agent_transport: { kind: "enum", default: "auto", values: AGENT_TRANSPORTS },
    free_page_reporting: { kind: "bool", default: true },
    tcg_tb_size_mib: { kind: "int", default: 0, min: 0, max: 4096 },
    kvm_probe_timeout_ms: { kind: "int", default: 5000, min: 500, max: 120_000 },
    stop_timeout_ms: { kind: "int", default: 5000, min: 0, max: 600_000 },
  },
  agent: {
    dial_timeout_ms: { kind: "int", default: 30_000, min: 100, max: 600_000 },
    vsock_port: { kind: "int", default: 1024, min: 1, max: 0xfffffffe },
    serial_port_name: {
      kind: "string",
      default: "agent.0",
      pattern: /^[A-Za-z0-9._-]{1,64}$/,
      patternText: "1-64 characters of [A-Za-z0-9._-]",
    },
    // a guest shell through the shim's admin socket (`tskata exec`): a privilege, off by default
    debug_exec: { kind: "bool", default: false },
  },
  runtime: {
    state_dir: { kind: "path", default: "/run/tskata", check: "absolute-dir" },
    log_level: { kind: "enum", default: "info", values: LOG_LEVELS },
  },
  // The warm VM pool (shim/pool/, docs/pool.md); cross-checks in validate.ts.
  factory: {
    enabled: { kind: "bool", default: false },
    pool_size: { kind: "int", default: 2, min: 1, max: 64 },
    // 0 = the [hypervisor] value
    memory_mib: { kind: "int", default: 0, min: 0, max: 1_048_576 },
    vcpus: { kind: "int", default: 0, min: 0, max: 255 },
    // "" = <runtime.state_dir>/pool.sock
    socket_path: { kind: "path", default: "", check: "absolute-dir" },
    min_host_available_mib: { kind: "int", default: 1024, min: 0, max: 1_048_576 },
    acquire_timeout_ms: { kind: "int", default: 2000, min: 50, max: 60_000 },
    refill_delay_ms: { kind: "int", default: 3000, min: 0, max: 600_000 },
  },
};
