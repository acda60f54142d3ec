/**
 * An open file descriptor for a tap that lives in another network namespace: /dev/net/tun is
 * opened while the calling thread is inside that namespace (a tun file belongs to the namespace
 * it was opened in, and TUNSETIFF looks the name up there), then attached to the existing
 * (persistent) tap by name with the flags QEMU uses when it opens a tap itself: IFF_TAP,
 * IFF_NO_PI, IFF_VNET_HDR. The fd can then be handed to a QEMU running in any namespace.
 */
import { closeSync, constants, openSync } from "node:fs";
import { check, ioctlWithBuffer } from "./libc.js";
import { onThreadInNetns } from "./netns-socket.js";

/** _IOW('T', 202, int) */
const TUNSETIFF = 0x400454ca;
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
const IFF_VNET_HDR = 0x4000;
/** sizeof(struct ifreq) on x86_64; IFNAMSIZ = 16 including the NUL. */
const IFREQ_SIZE = 40;
const IFNAMSIZ = 16;

/** `struct ifreq` naming `tapName` with tap flags (exported for its test). */
export function tapIfreq(tapName: string): Buffer {
  const name = Buffer.from(tapName, "utf8");
  if (name.length === 0 || name.length >= IFNAMSIZ || tapName.includes("\0"))
    throw new RangeError(`tap name must be 1-15 bytes: ${JSON.stringify(tapName)}`);
  const ifr = Buffer.alloc(IFREQ_SIZE);
  name.copy(ifr, 0);
  ifr.writeUInt16LE(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, IFNAMSIZ);
  return ifr;
}

/** Opens the tap `tapName` of the netns at `netnsPath`; the caller owns (and closes) the fd. */
export function openTapInNetns(netnsPath: string, tapName: string): number {
  const ifr = tapIfreq(tapName);
  const fd = onThreadInNetns(netnsPath, () => openSync("/dev/net/tun", constants.O_RDWR));
  try {
    check(ioctlWithBuffer(fd, TUNSETIFF, ifr), "ioctl", `TUNSETIFF ${tapName} in ${netnsPath}`);
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}
