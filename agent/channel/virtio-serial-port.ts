import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { AgentError } from "../errors.js";

/**
 * The /dev node of the virtio-serial port named `name`: the port whose
 * /sys/class/virtio-ports/<dev>/name holds it (there is no udev to make /dev/virtio-ports/NAME).
 */
export function findSerialPort(
  name: string,
  sysDir = "/sys/class/virtio-ports",
  devDir = "/dev",
): string | undefined {
  const named = join(devDir, "virtio-ports", name);
  if (existsSync(named)) return named;
  let entries: string[];
  try {
    entries = readdirSync(sysDir);
  } catch {
    return undefined;
  }
  for (const dev of entries.sort()) {
    try {
      if (readFileSync(join(sysDir, dev, "name"), "utf8").trim() === name) {
        const node = join(devDir, dev);
        return existsSync(node) ? node : undefined;
      }
    } catch {
      // port without a name attribute: not ours
    }
  }
  return undefined;
}

/** Waits (polling) until the port's device node exists: devtmpfs adds it just after the driver probes. */
export async function waitForSerialPort(name: string, timeoutMs: number, pollMs = 5): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const path = findSerialPort(name);
    if (path) return path;
    if (Date.now() >= deadline) {
      throw new AgentError(
        "ERR_AGENT_CHANNEL_NOT_FOUND",
        `no virtio-serial port named ${name} after ${timeoutMs} ms (is the host's virtserialport name=${name} attached, virtio_console loaded?)`,
      );
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
