import { readFileSync } from "node:fs";
import { setRealtimeClock } from "../../native/system.js";

/** Seconds since the guest kernel started, from /proc/uptime. */
export function guestUptimeSeconds(): number {
  return Number.parseFloat(readFileSync("/proc/uptime", "utf8").split(" ")[0]!);
}

/**
 * The wall clock now, given the host's clock when it launched the VM (tskata.time) and the
 * guest's uptime since: QEMU starts the kernel right after launch, so host time + uptime is
 * late by at most the few ms between the host reading its clock and the kernel starting.
 */
export function wallClockFromHost(hostTimeMs: number, uptimeSeconds: number): bigint {
  return BigInt(hostTimeMs) * 1_000_000n + BigInt(Math.round(uptimeSeconds * 1e9));
}

/** Sets the guest clock from the boot parameter; returns the correction applied in ms. */
export function setClockFromHost(hostTimeMs: number): number {
  const target = wallClockFromHost(hostTimeMs, guestUptimeSeconds());
  const before = BigInt(Date.now()) * 1_000_000n;
  setRealtimeClock(target);
  return Number((target - before) / 1_000_000n);
}

/** Sets the guest clock to an absolute time (SetGuestTime RPC). */
export function setClock(epochNs: bigint): void {
  setRealtimeClock(epochNs);
}
