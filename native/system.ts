/** Host-identity and whole-system calls: sethostname, clock_settime, sync, reboot. */
import { check, koffi, libc, libcFunc } from "./libc.js";

const fn = libcFunc;

export function sethostname(name: string): void {
  const bytes = Buffer.from(name, "utf8");
  check(
    fn<(n: Buffer, len: number) => number>("int sethostname(const uint8_t *name, size_t len)")(
      bytes,
      bytes.length,
    ),
    "sethostname",
    name,
  );
}

export const CLOCK_REALTIME = 0;

type SetTime = (clock: number, ts: { tv_sec: bigint; tv_nsec: number }) => number;
let settime: SetTime | undefined;

/** Sets CLOCK_REALTIME to `epochNs` nanoseconds since the epoch. Needs CAP_SYS_TIME. */
export function setRealtimeClock(epochNs: bigint): void {
  if (!settime) {
    koffi().struct("tskata_timespec", { tv_sec: "int64_t", tv_nsec: "long" });
    settime = libc().func("int clock_settime(int clock, const tskata_timespec *ts)") as SetTime;
  }
  const ts = { tv_sec: epochNs / 1_000_000_000n, tv_nsec: Number(epochNs % 1_000_000_000n) };
  check(settime(CLOCK_REALTIME, ts), "clock_settime", `to ${epochNs} ns`);
}

export function sync(): void {
  fn<() => void>("void sync(void)")();
}

export const RebootCommand = {
  POWER_OFF: 0x4321fedc,
  RESTART: 0x01234567,
  HALT: 0xcdef0123,
} as const;
export type RebootCommand = (typeof RebootCommand)[keyof typeof RebootCommand];

/** reboot(2); on success POWER_OFF does not return. Needs CAP_SYS_BOOT. */
export function reboot(cmd: RebootCommand): void {
  check(fn<(cmd: number) => number>("int reboot(int cmd)")(cmd), "reboot", `0x${cmd.toString(16)}`);
}
