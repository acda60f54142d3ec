/**
 * A pseudo-terminal pair opened by this process (posix_openpt/grantpt/unlockpt/ptsname_r), for
 * a process the agent spawns itself (debug exec), where no crun console socket hands one over.
 */
import { closeSync, constants, openSync } from "node:fs";
import { check, ioctlWithBuffer, libcFunc } from "./libc.js";

const O_RDWR = 0o2;
const O_NOCTTY = 0o400;
const O_CLOEXEC = 0o2000000;

export interface PtyPair {
  /** The side the agent reads and writes (close-on-exec). */
  master: number;
  /** The side the process gets as its stdio (the terminal). */
  slave: number;
  slavePath: string;
}

export function openPty(): PtyPair {
  const openpt = libcFunc<(flags: number) => number>("int posix_openpt(int flags)");
  const grantpt = libcFunc<(fd: number) => number>("int grantpt(int fd)");
  const unlockpt = libcFunc<(fd: number) => number>("int unlockpt(int fd)");
  const ptsname = libcFunc<(fd: number, buf: Buffer, len: number) => number>(
    "int ptsname_r(int fd, _Out_ uint8_t *buf, size_t buflen)",
  );
  const master = check(openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), "posix_openpt");
  try {
    check(grantpt(master), "grantpt");
    check(unlockpt(master), "unlockpt");
    const buf = Buffer.alloc(64);
    const r = ptsname(master, buf, buf.length);
    // ptsname_r returns the error number itself, not -1
    if (r !== 0) check(-1, "ptsname_r");
    const slavePath = buf.subarray(0, buf.indexOf(0)).toString("utf8");
    const slave = openSync(slavePath, constants.O_RDWR | constants.O_NOCTTY);
    return { master, slave, slavePath };
  } catch (err) {
    closeSync(master);
    throw err;
  }
}

const TIOCGWINSZ = 0x5413;

/** ioctl(TIOCGWINSZ): the window size set on a terminal (0x0 when nobody set one). */
export function windowSize(fd: number): { rows: number; columns: number } {
  const ws = Buffer.alloc(8); // struct winsize { u16 rows, cols, xpixel, ypixel }
  check(ioctlWithBuffer(fd, TIOCGWINSZ, ws), "ioctl", `TIOCGWINSZ fd ${fd}`);
  return { rows: ws.readUInt16LE(0), columns: ws.readUInt16LE(2) };
}
