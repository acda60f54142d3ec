/**
 * The sending end of an OCI `--console-socket`: connect to the caller's AF_UNIX socket and send
 * one fd (a pty master) as SCM_RIGHTS, as runc does for its container's terminal; the same
 * send on an already connected socket (an fd for QEMU's QMP `getfd`). Plus raw mode (cfmakeraw)
 * for a pty whose line discipline is the guest's, not this host's.
 */
import { check, libcFunc } from "./libc.js";
import {
  AF_UNIX,
  msghdrType,
  SCM_RIGHTS,
  SOCK_CLOEXEC,
  SOCK_STREAM,
  SOL_SOCKET,
  sockaddrUn,
} from "./unix-socket.js";

const TCSANOW = 0;
/** sizeof(struct termios) on x86_64 glibc. */
const TERMIOS_SIZE = 60;

const close = () => libcFunc<(fd: number) => number>("int close(int)");
const socket = () =>
  libcFunc<(domain: number, type: number, protocol: number) => number>("int socket(int, int, int)");
/** Connects to the unix socket at `path` and sends `fd` with `name` as the message (runc sends the pty's path). */
export function sendFd(path: string, fd: number, name: string): void {
  const sock = connectUnixStream(path);
  try {
    sendWithFd(sock, Buffer.from(name, "utf8"), fd, path);
  } finally {
    close()(sock);
  }
}

/** A connected AF_UNIX stream socket (close-on-exec) to `path`; the caller owns the fd. */
export function connectUnixStream(path: string): number {
  const connect = libcFunc<(fd: number, addr: Buffer, len: number) => number>(
    "int connect(int, const void *addr, uint32_t len)",
  );
  const addr = sockaddrUn(path);
  const sock = check(socket()(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket", "AF_UNIX");
  try {
    check(connect(sock, addr, addr.length), "connect", path);
    return sock;
  } catch (err) {
    close()(sock);
    throw err;
  }
}

/**
 * Sends `data` on the connected socket `sock` with `fd` riding along as SCM_RIGHTS, in one
 * sendmsg: the receiver gets the fd with these bytes. The whole of `data` must go at once (a
 * short write would split the message from its fd): anything less is an error.
 */
export function sendWithFd(sock: number, data: Buffer, fd: number, peer = `fd ${sock}`): void {
  // struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; int fd; } padded to 24
  const control = Buffer.alloc(24);
  control.writeBigUInt64LE(20n, 0);
  control.writeInt32LE(SOL_SOCKET, 8);
  control.writeInt32LE(SCM_RIGHTS, 12);
  control.writeInt32LE(fd, 16);
  const msg = {
    msg_name: null,
    msg_namelen: 0,
    msg_iov: [{ iov_base: data, iov_len: data.length }],
    msg_iovlen: 1,
    msg_control: control,
    msg_controllen: control.length,
    msg_flags: 0,
  };
  const sendmsg = libcFunc<(fd: number, msg: unknown, flags: number) => number | bigint>(
    `long sendmsg(int fd, const ${msghdrType()} *msg, int flags)`,
  );
  const sent = check(Number(sendmsg(sock, msg, 0)), "sendmsg", peer);
  if (sent !== data.length)
    throw new RangeError(`sendmsg to ${peer}: sent ${sent} of ${data.length} bytes with an fd`);
}

/** Puts the terminal behind `fd` in raw mode (no echo, no line editing, no output translation). */
export function makeRaw(fd: number): void {
  const tcgetattr = libcFunc<(fd: number, termios: Buffer) => number>(
    "int tcgetattr(int fd, _Out_ uint8_t *termios)",
  );
  const tcsetattr = libcFunc<(fd: number, when: number, termios: Buffer) => number>(
    "int tcsetattr(int fd, int when, const uint8_t *termios)",
  );
  const cfmakeraw = libcFunc<(termios: Buffer) => void>("void cfmakeraw(_Inout_ uint8_t *termios)");
  const t = Buffer.alloc(TERMIOS_SIZE);
  check(tcgetattr(fd, t), "tcgetattr", `fd ${fd}`);
  cfmakeraw(t);
  check(tcsetattr(fd, TCSANOW, t), "tcsetattr", `fd ${fd}`);
}
