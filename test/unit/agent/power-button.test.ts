import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  findInputDevice,
  INPUT_EVENT_SIZE,
  isPowerKeyPress,
  parseInputEvents,
} from "../../../agent/init/power-button.js";

function event(type: number, code: number, value: number): Buffer {
  const b = Buffer.alloc(INPUT_EVENT_SIZE);
  b.writeBigInt64LE(1_700_000_000n, 0);
  b.writeUInt16LE(type, 16);
  b.writeUInt16LE(code, 18);
  b.writeInt32LE(value, 20);
  return b;
}

describe("power button events", () => {
  it("parses whole input_event records and keeps a partial one", () => {
    const press = event(1, 116, 1);
    const sync = event(0, 0, 0);
    const data = Buffer.concat([press, sync, press.subarray(0, 10)]);
    const { events, rest } = parseInputEvents(data);
    expect(events).toEqual([
      { type: 1, code: 116, value: 1 },
      { type: 0, code: 0, value: 0 },
    ]);
    expect(rest.length).toBe(10);
    expect(events.filter(isPowerKeyPress)).toHaveLength(1);
  });

  it("ignores key releases and other keys", () => {
    expect(isPowerKeyPress({ type: 1, code: 116, value: 0 })).toBe(false);
    expect(isPowerKeyPress({ type: 1, code: 30, value: 1 })).toBe(false);
  });

  it("finds the device node by the input device's name", () => {
    const root = mkdtempSync(join(tmpdir(), "tskata-input-"));
    for (const [ev, name] of [
      ["event0", "AT Translated Set 2 keyboard"],
      ["event1", "Power Button"],
    ] as const) {
      mkdirSync(join(root, "sys", ev, "device"), { recursive: true });
      writeFileSync(join(root, "sys", ev, "device/name"), `${name}\n`);
    }
    mkdirSync(join(root, "dev"));
    writeFileSync(join(root, "dev/event1"), "");
    expect(findInputDevice("Power Button", join(root, "sys"), join(root, "dev"))).toBe(
      join(root, "dev/event1"),
    );
    expect(findInputDevice("Sleep Button", join(root, "sys"), join(root, "dev"))).toBeUndefined();
  });
});
