/** Turns a parsed TOML table into a typed TskataConfig, or one ConfigError listing every bad key. */
import { accessSync, constants, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { ConfigError, type ConfigIssue } from "./errors.js";
import { defaultGuestArtifacts, type GuestArtifacts } from "./paths.js";
import { type KeySpec, SCHEMA } from "./schema.js";
import type {
  AccelSetting,
  AgentTransportSetting,
  LogLevel,
  MachineType,
  RootImageDevice,
  SharedFsSetting,
  TskataConfig,
  VirtiofsCacheMode,
} from "./types.js";

export interface ValidateOptions {
  /** Shown in the error message. */
  source: string;
  /** Relative paths resolve against this directory. */
  baseDir: string;
  /** Injected for tests; defaults to the resolved guest image output. */
  guestArtifacts?: () => GuestArtifacts;
}

type Value = string | number | boolean;

/** sun_path holds 108 bytes including the terminating NUL. */
const SUN_PATH_MAX = 107;

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function show(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : isTable(v) ? "a table" : String(v);
}

function checkPath(path: string, check: KeySpec & { kind: "path" }): string | undefined {
  if (check.check === "none" || path === "") return undefined;
  if (check.check === "absolute-dir")
    return isAbsolute(path) ? undefined : `must be an absolute path, got ${show(path)}`;
  let info: ReturnType<typeof statSync>;
  try {
    info = statSync(path);
  } catch {
    return `file not found: ${path}`;
  }
  if (!info.isFile()) return `not a regular file: ${path}`;
  try {
    accessSync(path, check.check === "executable" ? constants.X_OK : constants.R_OK);
  } catch {
    return `${check.check === "executable" ? "not executable" : "not readable"}: ${path}`;
  }
  return undefined;
}

function coerce(key: string, spec: KeySpec, raw: unknown, baseDir: string, issues: ConfigIssue[]): Value {
  const bad = (message: string): Value => {
    issues.push({ key, message });
    return spec.default;
  };
  switch (spec.kind) {
    case "int":
      if (typeof raw !== "number" || !Number.isInteger(raw))
        return bad(`must be an integer, got ${show(raw)}`);
      if (raw < spec.min) return bad(`must be >= ${spec.min}, got ${raw}`);
      if (raw > spec.max) return bad(`must be <= ${spec.max}, got ${raw}`);
      return raw;
    case "bool":
      if (typeof raw !== "boolean") return bad(`must be true or false, got ${show(raw)}`);
      return raw;
    case "enum":
      if (typeof raw !== "string" || !spec.values.includes(raw)) {
        return bad(
          `must be one of ${spec.values.map((v) => JSON.stringify(v)).join(", ")}, got ${show(raw)}`,
        );
      }
      return raw;
    case "string":
      if (typeof raw !== "string") return bad(`must be a string, got ${show(raw)}`);
      if (spec.pattern && !spec.pattern.test(raw))
        return bad(`must be ${spec.patternText}, got ${show(raw)}`);
      return raw;
    case "path": {
      if (typeof raw !== "string") return bad(`must be a path string, got ${show(raw)}`);
      const path = raw === "" || spec.check === "absolute-dir" ? raw : resolve(baseDir, raw);
      const problem = checkPath(path, spec);
      return problem ? bad(problem) : path;
    }
  }
}

/** Validates `raw` (a parsed TOML document). Nothing is started or created. */
export function validateConfig(raw: unknown, opts: ValidateOptions): TskataConfig {
  const issues: ConfigIssue[] = [];
  const doc = isTable(raw) ? raw : {};
  const values: Record<string, Record<string, Value>> = {};
  const given = new Set<string>();

  for (const section of Object.keys(doc)) {
    if (!(section in SCHEMA)) issues.push({ key: section, message: "unknown section" });
  }
  for (const [section, keys] of Object.entries(SCHEMA)) {
    const table = doc[section] ?? {};
    const out: Record<string, Value> = {};
    values[section] = out;
    if (!isTable(table)) {
      issues.push({ key: section, message: `must be a table, got ${show(table)}` });
      continue;
    }
    for (const key of Object.keys(table)) {
      if (!(key in keys)) issues.push({ key: `${section}.${key}`, message: "unknown key" });
    }
    for (const [key, spec] of Object.entries(keys)) {
      if (key in table) {
        given.add(`${section}.${key}`);
        out[key] = coerce(`${section}.${key}`, spec, table[key], opts.baseDir, issues);
      } else {
        out[key] = spec.default;
      }
    }
  }

  const h = values["hypervisor"]!;
  // Guest artifacts: kernel defaults on its own; image/initrd default only when neither is given.
  let artifacts: GuestArtifacts | undefined;
  const guest = (): GuestArtifacts => {
    artifacts ??= (opts.guestArtifacts ?? defaultGuestArtifacts)();
    return artifacts;
  };
  let kernelCmdline = "";
  if (!given.has("hypervisor.kernel")) {
    const g = guest();
    const problem = checkPath(g.kernel, { kind: "path", default: "", check: "file" });
    if (problem) issues.push({ key: "hypervisor.kernel", message: `${problem} (default from ${where(g)})` });
    h["kernel"] = g.kernel;
  } else if (h["kernel"] === "") {
    issues.push({ key: "hypervisor.kernel", message: "must not be empty" });
  }
  if (!given.has("hypervisor.image") && !given.has("hypervisor.initrd")) {
    const g = guest();
    kernelCmdline = g.kernelCmdline;
    for (const [key, path] of [
      ["image", g.image],
      ["initrd", g.initrd],
    ] as const) {
      const problem = path ? checkPath(path, { kind: "path", default: "", check: "file" }) : undefined;
      if (problem)
        issues.push({ key: `hypervisor.${key}`, message: `${problem} (default from ${where(g)})` });
      h[key] = path ?? "";
    }
  } else if (h["image"] === "" && h["initrd"] === "") {
    issues.push({
      key: "hypervisor.image",
      message: "one of hypervisor.image or hypervisor.initrd must be set",
    });
  }
  if (h["root_image_device"] === "pmem" && h["machine_type"] === "microvm") {
    issues.push({
      key: "hypervisor.root_image_device",
      message: '"pmem" needs a PCI machine (virtio-pmem-pci), not "microvm"; use "blk"',
    });
  }
  if (h["machine_type"] === "microvm" && h["shared_fs"] === "virtio-9p") {
    // microvm has no PCI bus; QEMU's -virtfs needs virtio-9p-pci.
    issues.push({ key: "hypervisor.shared_fs", message: 'virtio-9p needs a PCI machine, not "microvm"' });
  }
  if (h["shared_fs"] === "virtio-fs" && given.has("hypervisor.virtiofsd_path")) {
    const problem = checkPath(String(h["virtiofsd_path"]), {
      kind: "path",
      default: "",
      check: "executable",
    });
    if (problem) issues.push({ key: "hypervisor.virtiofsd_path", message: problem });
  }

  for (const [maxKey, baseKey] of [
    ["max_vcpus", "vcpus"],
    ["max_memory_mib", "memory_mib"],
  ] as const) {
    const max = Number(h[maxKey]);
    const base = Number(h[baseKey]);
    if (max !== 0 && max < base) {
      issues.push({
        key: `hypervisor.${maxKey}`,
        message: `must be 0 (the host's) or >= hypervisor.${baseKey} (${base}), got ${max}`,
      });
    }
  }

  const f = values["factory"]!;
  const stateDir = String(values["runtime"]!["state_dir"]);
  const poolSocket = String(f["socket_path"]) || join(stateDir, "pool.sock");
  if (!isAbsolute(poolSocket)) {
    issues.push({ key: "factory.socket_path", message: `must be an absolute path, got ${show(poolSocket)}` });
  } else if (Buffer.byteLength(poolSocket) > SUN_PATH_MAX) {
    issues.push({
      key: "factory.socket_path",
      message: `must be at most ${SUN_PATH_MAX} bytes (a unix socket path), got ${Buffer.byteLength(poolSocket)}`,
    });
  }
  for (const [key, min] of [
    ["memory_mib", 64],
    ["vcpus", 1],
  ] as const) {
    const v = Number(f[key]);
    if (v !== 0 && v < min)
      issues.push({
        key: `factory.${key}`,
        message: `must be 0 (the [hypervisor] value) or >= ${min}, got ${v}`,
      });
  }
  const poolMemory = Number(f["memory_mib"]) || Number(h["memory_mib"]);
  const poolVcpus = Number(f["vcpus"]) || Number(h["vcpus"]);
  for (const [key, value, maxKey] of [
    ["memory_mib", poolMemory, "max_memory_mib"],
    ["vcpus", poolVcpus, "max_vcpus"],
  ] as const) {
    const max = Number(h[maxKey]);
    if (max !== 0 && value > max)
      issues.push({
        key: `factory.${key}`,
        message: `must be <= hypervisor.${maxKey} (${max}), got ${value}`,
      });
  }

  if (issues.length > 0) throw new ConfigError("CONFIG_INVALID", issues, opts.source);

  const a = values["agent"]!;
  const r = values["runtime"]!;
  const params = [kernelCmdline, String(h["kernel_params"])].filter((p) => p.trim() !== "").join(" ");
  return {
    source: opts.source,
    hypervisor: {
      path: String(h["path"]),
      machineType: h["machine_type"] as MachineType,
      accel: h["accel"] as AccelSetting,
      cpuModel: String(h["cpu_model"]),
      vcpus: Number(h["vcpus"]),
      memoryMib: Number(h["memory_mib"]),
      maxVcpus: Number(h["max_vcpus"]),
      maxMemoryMib: Number(h["max_memory_mib"]),
      kernel: String(h["kernel"]),
      image: h["image"] === "" ? undefined : String(h["image"]),
      rootImageDevice: h["root_image_device"] as RootImageDevice,
      initrd: h["initrd"] === "" ? undefined : String(h["initrd"]),
      kernelParams: params,
      sharedFs: h["shared_fs"] as SharedFsSetting,
      virtiofsdPath: String(h["virtiofsd_path"]),
      virtiofsCache: h["virtiofs_cache"] as VirtiofsCacheMode,
      agentTransport: h["agent_transport"] as AgentTransportSetting,
      freePageReporting: h["free_page_reporting"] === true,
      tcgTbSizeMib: Number(h["tcg_tb_size_mib"]),
      kvmProbeTimeoutMs: Number(h["kvm_probe_timeout_ms"]),
      stopTimeoutMs: Number(h["stop_timeout_ms"]),
    },
    agent: {
      dialTimeoutMs: Number(a["dial_timeout_ms"]),
      vsockPort: Number(a["vsock_port"]),
      serialPortName: String(a["serial_port_name"]),
      debugExec: a["debug_exec"] === true,
    },
    runtime: { stateDir: String(r["state_dir"]), logLevel: r["log_level"] as LogLevel },
    factory: {
      enabled: f["enabled"] === true,
      poolSize: Number(f["pool_size"]),
      memoryMib: poolMemory,
      vcpus: poolVcpus,
      socketPath: poolSocket,
      minHostAvailableMib: Number(f["min_host_available_mib"]),
      acquireTimeoutMs: Number(f["acquire_timeout_ms"]),
      refillDelayMs: Number(f["refill_delay_ms"]),
    },
  };
}

function where(g: GuestArtifacts): string {
  return `${g.guestDir.reason} ${g.guestDir.dir}`;
}
