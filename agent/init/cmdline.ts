import { AgentError } from "../errors.js";

/** Boot configuration the host passes on the kernel command line as tskata.* parameters. */
export interface BootConfig {
  /** Host channel: virtio-serial port (default) or vsock. */
  channel: "serial" | "vsock";
  /** virtio-serial port name (tskata.port, default agent.0). */
  serialPort: string;
  /** vsock port the agent listens on (tskata.vsock_port, default 1024). */
  vsockPort: number;
  hostname: string | undefined;
  /** Host wall clock (ms since epoch) when it built the command line (tskata.time). */
  hostTimeMs: number | undefined;
  /** Shared filesystem to mount at boot (tskata.sharefs=virtiofs:TAG or 9p:TAG). */
  sharedFs: { type: "virtiofs" | "9p"; tag: string } | undefined;
  /** Where the shared filesystem is mounted (tskata.sharefs_path). */
  sharedFsPath: string;
  logLevel: "trace" | "debug" | "info" | "warn" | "error";
}

export const DEFAULT_BOOT_CONFIG: BootConfig = {
  channel: "serial",
  serialPort: "agent.0",
  vsockPort: 1024,
  hostname: undefined,
  hostTimeMs: undefined,
  sharedFs: undefined,
  sharedFsPath: "/run/tskata/shared",
  logLevel: "info",
};

/** Splits a kernel command line into words, honouring double quotes as the kernel does. */
export function splitCmdline(cmdline: string): string[] {
  const words: string[] = [];
  let current = "";
  let inQuotes = false;
  let started = false;
  for (const ch of cmdline) {
    if (ch === '"') {
      inQuotes = !inQuotes;
      started = true;
    } else if (!inQuotes && /\s/.test(ch)) {
      if (started) words.push(current);
      current = "";
      started = false;
    } else {
      current += ch;
      started = true;
    }
  }
  if (started) words.push(current);
  return words;
}

function bad(key: string, value: string, expected: string): AgentError {
  return new AgentError("ERR_AGENT_BAD_CMDLINE", `kernel parameter ${key}=${value}: expected ${expected}`);
}

/** Parses the tskata.* parameters of a kernel command line; other words are ignored. */
export function parseBootConfig(cmdline: string): BootConfig {
  const cfg: BootConfig = { ...DEFAULT_BOOT_CONFIG };
  for (const word of splitCmdline(cmdline)) {
    if (!word.startsWith("tskata.")) continue;
    const eq = word.indexOf("=");
    const key = eq < 0 ? word : word.slice(0, eq);
    const value = eq < 0 ? "" : word.slice(eq + 1);
    switch (key) {
      case "tskata.channel":
        if (value !== "serial" && value !== "vsock") throw bad(key, value, "serial or vsock");
        cfg.channel = value;
        break;
      case "tskata.port":
        if (!/^[\w.-]+$/.test(value)) throw bad(key, value, "a port name like agent.0");
        cfg.serialPort = value;
        break;
      case "tskata.vsock_port": {
        const port = Number(value);
        if (!Number.isInteger(port) || port <= 0 || port > 0xffffffff) throw bad(key, value, "a port number");
        cfg.vsockPort = port;
        break;
      }
      case "tskata.hostname":
        if (!/^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/.test(value)) throw bad(key, value, "a hostname");
        cfg.hostname = value;
        break;
      case "tskata.time": {
        const ms = Number(value);
        if (!Number.isSafeInteger(ms) || ms <= 0) throw bad(key, value, "milliseconds since the epoch");
        cfg.hostTimeMs = ms;
        break;
      }
      case "tskata.sharefs": {
        const m = /^(virtiofs|9p):([\w.-]+)$/.exec(value);
        if (!m) throw bad(key, value, "virtiofs:TAG or 9p:TAG");
        cfg.sharedFs = { type: m[1] as "virtiofs" | "9p", tag: m[2]! };
        break;
      }
      case "tskata.sharefs_path":
        if (!value.startsWith("/")) throw bad(key, value, "an absolute path");
        cfg.sharedFsPath = value;
        break;
      case "tskata.log":
        if (!["trace", "debug", "info", "warn", "error"].includes(value))
          throw bad(key, value, "a log level");
        cfg.logLevel = value as BootConfig["logLevel"];
        break;
      default:
        // unknown tskata.* parameters are for other components (tskata.root, tskata.rootfstype)
        break;
    }
  }
  return cfg;
}
