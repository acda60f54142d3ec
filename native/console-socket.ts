/**
 * The receiving end of an OCI `--console-socket`: a listening AF_UNIX socket to which crun
 * connects and sends the pty master as SCM_RIGHTS. accept and recvmsg block, so they run on a
 * koffi worker thread (`.async`); the event loop never waits on them. Plus TIOCSWINSZ.
 */
type AsyncFn = ((...args: never[]) => unknown) & { async: (...args: unknown[]) => void };

import { NativeError } from "./errors.js";
import { check, ioctlWithBuffer, koffi, libcFunc } from "./libc.js";
import {
  AF_UNIX,
  msghdrType,
  SCM_RIGHTS,
  SOCK_CLOEXEC,
  SOCK_STREAM,
  SOL_SOCKET,
  sockaddrUn,
} from "./unix-socket.js";

const TIOCSWINSZ = 0x5414;
const CONTROL_LEN = 64;

const close = () => libcFunc<(fd: number) => number>("int close(int)");
/** accept4 and recvmsg block: they are called with `.async`, on a koffi worker thread. */
const accept4 = () => libcFunc<AsyncFn>("int accept4(int, void *addr, void *len, int flags)");
const recvmsg = () => libcFunc<AsyncFn>(`long recvmsg(int fd, ${msghdrType()} *msg, int flags)`);

function callAsync(f: AsyncFn, ...args: unknown[]): Promise<number> {
  return new Promise((resolve, reject) => {
    f.async(...args, (err: unknown, r: number | bigint) => (err ? reject(err) : resolve(Number(r))));
  });
}

/** A listening console socket at `path`; close() releases it. */
export class ConsoleSocket {
  private fd: number;

  constructor(readonly path: string) {
    const socket =
      libcFunc<(domain: number, type: number, protocol: number) => number>("int socket(int, int, int)");
    const bind = libcFunc<(fd: number, addr: Buffer, len: number) => number>(
      "int bind(int, const void *addr, uint32_t len)",
    );
    const listen = libcFunc<(fd: number, backlog: number) => number>("int listen(int, int)");
    this.fd = check(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket", "AF_UNIX");
    const addr = sockaddrUn(path);
    try {
      check(bind(this.fd, addr, addr.length), "bind", path);
      check(listen(this.fd, 1), "listen", path);
    } catch (err) {
      close()(this.fd);
      throw err;
    }
  }

  /**
   * Waits (on a worker thread) for one connection and the fd it sends; resolves with the fd.
   * Close the socket to give up: accept then fails.
   */
  async receiveFd(): Promise<number> {
    const conn = await callAsync(accept4(), this.fd, null, null, SOCK_CLOEXEC);
    check(conn, "accept4", this.path);
    try {
      const k = koffi();
      // memory koffi does not copy: the kernel writes the control message straight into it
      const data = k.alloc("uint8_t", 256);
      const controlPtr = k.alloc("uint8_t", CONTROL_LEN);
      const msg = {
        msg_name: null,
        msg_namelen: 0,
        msg_iov: [{ iov_base: data, iov_len: 256 }],
        msg_iovlen: 1,
        msg_control: controlPtr,
        msg_controllen: CONTROL_LEN,
        msg_flags: 0,
      };
      const n = await callAsync(recvmsg(), conn, msg, 0);
      check(n, "recvmsg", this.path);
      const control = Buffer.from(k.decode(controlPtr, k.array("uint8_t", CONTROL_LEN)) as number[]);
      k.free(data);
      k.free(controlPtr);
      // struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; } then the fds
      const len = Number(control.readBigUInt64LE(0));
      const level = control.readInt32LE(8);
      const type = control.readInt32LE(12);
      if (len < 20 || level !== SOL_SOCKET || type !== SCM_RIGHTS)
        throw new NativeError("recvmsg", 0, "ENOMSG", `${this.path}: no SCM_RIGHTS fd received`);
      return control.readInt32LE(16);
    } finally {
      close()(conn);
    }
  }

  close(): void {
    if (this.fd < 0) return;
    // shutdown wakes an accept blocked on the worker thread (close alone would not)
    libcFunc<(fd: number, how: number) => number>("int shutdown(int, int)")(this.fd, 2);
    close()(this.fd);
    this.fd = -1;
  }
}

/** ioctl(TIOCSWINSZ): sets the terminal size of a pty. */
export function setWindowSize(fd: number, rows: number, columns: number): void {
  const ws = Buffer.alloc(8); // struct winsize { u16 rows, cols, xpixel, ypixel }
  ws.writeUInt16LE(rows, 0);
  ws.writeUInt16LE(columns, 2);
  check(ioctlWithBuffer(fd, TIOCSWINSZ, ws), "ioctl", `TIOCSWINSZ fd ${fd}`);
}
