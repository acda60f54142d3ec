/**
 * AF_VSOCK client sockets through libc (koffi), handed to Node as a net.Socket.
 *
 * socket(AF_VSOCK, SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC) → connect(sockaddr_vm) (EINPROGRESS)
 * → poll(POLLOUT) on a koffi worker thread (so the event loop never blocks) → SO_ERROR. The
 * connected fd is wrapped in a libuv pipe handle: net.Socket({fd}) refuses fds whose family
 * libuv does not recognise (only unix and TCP), but a pipe handle streams any socket fd.
 */
import { Socket } from "node:net";
import koffi from "koffi";

export const AF_VSOCK = 40;
export const VMADDR_CID_HOST = 2;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_ERROR = 4;
const POLLOUT = 0x4;
const EINPROGRESS = 115;

export class VsockError extends Error {
  override name = "VsockError";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Libc {
  socket: (domain: number, type: number, protocol: number) => number;
  connect: (fd: number, addr: Buffer, len: number) => number;
  poll: { async: (...args: unknown[]) => void };
  getsockopt: (fd: number, level: number, name: number, value: Buffer, len: Buffer) => number;
  close: (fd: number) => number;
  strerror: (errnum: number) => string;
}

let libc: Libc | undefined;
function load(): Libc {
  if (libc) return libc;
  const lib = koffi.load("libc.so.6");
  libc = {
    socket: lib.func("int socket(int, int, int)"),
    connect: lib.func("int connect(int, const void *addr, uint32_t)"),
    poll: lib.func("int poll(_Inout_ void *fds, unsigned long nfds, int timeout)"),
    getsockopt: lib.func("int getsockopt(int, int, int, _Inout_ void *value, _Inout_ void *len)"),
    close: lib.func("int close(int)"),
    strerror: lib.func("const char *strerror(int)"),
  };
  return libc;
}

function errnoName(errno: number): string {
  const entry = Object.entries(koffi.os.errno).find(([, v]) => v === errno);
  return entry ? entry[0] : `E${errno}`;
}

function fail(c: Libc, op: string, errno: number): VsockError {
  return new VsockError(errnoName(errno), `vsock ${op}: ${c.strerror(errno)} (${errnoName(errno)})`);
}

/** struct sockaddr_vm { sa_family_t family; u16 reserved1; u32 port; u32 cid; u8 zero[4]; } */
export function sockaddrVm(cid: number, port: number): Buffer {
  const buf = Buffer.alloc(16);
  buf.writeUInt16LE(AF_VSOCK, 0);
  buf.writeUInt32LE(port >>> 0, 4);
  buf.writeUInt32LE(cid >>> 0, 8);
  return buf;
}

/** Whether this kernel can create AF_VSOCK sockets at all (the vsock module is loaded). */
export function vsockSupported(): boolean {
  const c = load();
  const fd = c.socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  c.close(fd);
  return true;
}

/** Wraps a connected stream-socket fd of any family in a net.Socket (which then owns the fd). */
export function socketFromFd(fd: number): Socket {
  const { Pipe, constants } = (process as unknown as { binding(name: string): PipeWrap }).binding(
    "pipe_wrap",
  );
  const handle = new Pipe(constants.SOCKET);
  const err = handle.open(fd);
  if (typeof err === "number" && err < 0)
    throw new VsockError("EBADF", `cannot wrap fd ${fd}: uv error ${err}`);
  return new Socket({ handle, readable: true, writable: true } as unknown as ConstructorParameters<
    typeof Socket
  >[0]);
}

interface PipeWrap {
  Pipe: new (type: number) => { open(fd: number): number | undefined };
  constants: { SOCKET: number };
}

function pollWritable(c: Libc, fd: number, timeoutMs: number): Promise<number> {
  const pfd = Buffer.alloc(8); // struct pollfd { int fd; short events; short revents; }
  pfd.writeInt32LE(fd, 0);
  pfd.writeInt16LE(POLLOUT, 4);
  return new Promise((resolve, reject) => {
    c.poll.async(pfd, 1, timeoutMs, (err: unknown, n: number) => (err ? reject(err) : resolve(n)));
  });
}

/** Connects to `cid:port`; rejects with VsockError (code = errno name, or ETIMEDOUT). */
export async function vsockConnect(cid: number, port: number, timeoutMs = 5000): Promise<Socket> {
  const c = load();
  const fd = c.socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw fail(c, "socket(AF_VSOCK)", koffi.errno());
  try {
    const addr = sockaddrVm(cid, port);
    if (c.connect(fd, addr, addr.length) < 0) {
      const errno = koffi.errno();
      if (errno !== EINPROGRESS) throw fail(c, `connect(${cid}:${port})`, errno);
      const ready = await pollWritable(c, fd, timeoutMs);
      if (ready === 0)
        throw new VsockError("ETIMEDOUT", `vsock connect(${cid}:${port}): no answer in ${timeoutMs} ms`);
      const value = Buffer.alloc(4);
      const len = Buffer.alloc(4);
      len.writeUInt32LE(4, 0);
      if (c.getsockopt(fd, SOL_SOCKET, SO_ERROR, value, len) < 0) throw fail(c, "getsockopt", koffi.errno());
      const soError = value.readInt32LE(0);
      if (soError !== 0) throw fail(c, `connect(${cid}:${port})`, soError);
    }
    return socketFromFd(fd);
  } catch (err) {
    c.close(fd);
    throw err;
  }
}
