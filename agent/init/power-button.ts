import { createReadStream, existsSync, type ReadStream, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** struct input_event on x86_64: struct timeval (16 bytes), __u16 type, __u16 code, __s32 value. */
export const INPUT_EVENT_SIZE = 24;
const EV_KEY = 1;
const KEY_POWER = 116;

/** Yields (type, code, value) of each whole input_event in `buf`; the remainder is returned. */
export function parseInputEvents(buf: Buffer): {
  events: { type: number; code: number; value: number }[];
  rest: Buffer;
} {
  const events: { type: number; code: number; value: number }[] = [];
  let off = 0;
  for (; off + INPUT_EVENT_SIZE <= buf.length; off += INPUT_EVENT_SIZE) {
    events.push({
      type: buf.readUInt16LE(off + 16),
      code: buf.readUInt16LE(off + 18),
      value: buf.readInt32LE(off + 20),
    });
  }
  return { events, rest: buf.subarray(off) };
}

/** True for a press of the power key (ACPI power button, QMP system_powerdown). */
export function isPowerKeyPress(e: { type: number; code: number; value: number }): boolean {
  return e.type === EV_KEY && e.code === KEY_POWER && e.value === 1;
}

/** /dev/input/eventN of the input device called `name` (e.g. "Power Button"), if present. */
export function findInputDevice(
  name: string,
  sysDir = "/sys/class/input",
  devDir = "/dev/input",
): string | undefined {
  let entries: string[];
  try {
    entries = readdirSync(sysDir).filter((e) => e.startsWith("event"));
  } catch {
    return undefined;
  }
  for (const ev of entries.sort()) {
    try {
      if (readFileSync(join(sysDir, ev, "device/name"), "utf8").trim() === name) {
        const node = join(devDir, ev);
        return existsSync(node) ? node : undefined;
      }
    } catch {
      // no name attribute
    }
  }
  return undefined;
}

/**
 * Calls `onPress` when the VM's power button is pressed (QEMU `system_powerdown`: ACPI button →
 * kernel `button` driver → evdev). There is no acpid in the guest: the agent is the one who
 * powers off. Returns the open device stream (to close it), or undefined without such a device.
 */
export function watchPowerButton(onPress: () => void, onError: (err: Error) => void): ReadStream | undefined {
  const dev = findInputDevice("Power Button");
  if (dev === undefined) return undefined;
  const stream = createReadStream(dev, { highWaterMark: INPUT_EVENT_SIZE * 16 });
  let pending = Buffer.alloc(0);
  stream.on("data", (chunk) => {
    const { events, rest } = parseInputEvents(Buffer.concat([pending, chunk as Buffer]));
    pending = Buffer.from(rest);
    if (events.some(isPowerKeyPress)) onPress();
  });
  stream.on("error", onError);
  return stream;
}

/** Like watchPowerButton, waiting up to `timeoutMs` for the device to appear after `button` loads. */
export async function watchPowerButtonWhenReady(
  onPress: () => void,
  onError: (err: Error) => void,
  timeoutMs = 2_000,
): Promise<ReadStream | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stream = watchPowerButton(onPress, onError);
    if (stream !== undefined || Date.now() >= deadline) return stream;
    await new Promise((r) => setTimeout(r, 20));
  }
}
