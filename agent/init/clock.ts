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

/**
 * Whether to move the clock to `fromHostNs`: host launch time + uptime and the clock the kernel
 * read from the RTC at boot (whole seconds, so up to 1 s behind) are both lower bounds of the
 * true time (the host read its clock before QEMU started, maybe long before). The later of the
 * two is the better estimate, so the clock only ever moves forward here.
 */
export function shouldApplyHostTime(fromHostNs: bigint, guestNowNs: bigint): boolean {
  return fromHostNs > guestNowNs;
}

/** Sets the guest clock from the boot parameter when that is later; returns the step in ms (0: kept). */
export function setClockFromHost(hostTimeMs: number): number {
  const target = wallClockFromHost(hostTimeMs, guestUptimeSeconds());
  const before = BigInt(Date.now()) * 1_000_000n;
  if (!shouldApplyHostTime(target, before)) return 0;
  setRealtimeClock(target);
  return Number((target - before) / 1_000_000n);
}

/** Sets the guest clock to an absolute time (SetGuestTime RPC). */
export function setClock(epochNs: bigint): void {
  setRealtimeClock(epochNs);
}
