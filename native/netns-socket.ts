/**
 * TCP sockets that belong to another network namespace. A socket's namespace is fixed when it is
 * created: the calling thread enters the namespace (setns), calls socket(), and returns to its own
 * namespace before anything else runs; bind/listen/connect then act inside the socket's namespace
 * from anywhere. Node takes the fd over (`server.listen({ fd })`, `new net.Socket({ fd })`).
 */
import { closeSync, openSync } from "node:fs";
import { isIPv4, isIPv6 } from "node:net";
import { check, libcFunc } from "./libc.js";

const CLONE_NEWNET = 0x40000000;
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const IPPROTO_IPV6 = 41;
const IPV6_V6ONLY = 26;

type SocketFn = (domain: number, type: number, protocol: number) => number;
type SetnsFn = (fd: number, nstype: number) => number;
type AddrFn = (fd: number, addr: Buffer, len: number) => number;
type ListenFn = (fd: number, backlog: number) => number;
type SetsockoptFn = (fd: number, level: number, name: number, value: Buffer, len: number) => number;
type CloseFn = (fd: number) => number;

const socketFn = () => libcFunc<SocketFn>("int socket(int domain, int type, int protocol)");
const setnsFn = () => libcFunc<SetnsFn>("int setns(int fd, int nstype)");
const bindFn = () => libcFunc<AddrFn>("int bind(int fd, const void *addr, uint32_t len)");
const connectFn = () => libcFunc<AddrFn>("int connect(int fd, const void *addr, uint32_t len)");
const listenFn = () => libcFunc<ListenFn>("int listen(int fd, int backlog)");
const setsockoptFn = () =>
  libcFunc<SetsockoptFn>("int setsockopt(int fd, int level, int name, const void *value, uint32_t len)");
const closeFn = () => libcFunc<CloseFn>("int close(int fd)");

/** sockaddr_in / sockaddr_in6 for an IP literal and port. */
export function sockaddr(address: string, port: number): Buffer {
  if (isIPv4(address)) {
    const b = Buffer.alloc(16);
    b.writeUInt16LE(AF_INET, 0);
    b.writeUInt16BE(port, 2);
    for (const [i, part] of address.split(".").entries()) b[4 + i] = Number(part);
    return b;
  }
  if (isIPv6(address)) {
    const b = Buffer.alloc(28);
    b.writeUInt16LE(AF_INET6, 0);
    b.writeUInt16BE(port, 2);
    ipv6Bytes(address).copy(b, 8);
    return b;
  }
  throw new TypeError(`not an IP address: ${JSON.stringify(address)}`);
}

function ipv6Bytes(address: string): Buffer {
  const [head = "", tail] = address.split("::");
  const groups = (s: string | undefined) => (s ? s.split(":") : []);
  const h = groups(head);
  const t = groups(tail);
  const words = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  const b = Buffer.alloc(16);
  if (address.includes(".")) throw new TypeError(`IPv4-mapped IPv6 ${address} is not supported here`);
  for (const [i, w] of words.entries()) b.writeUInt16BE(Number.parseInt(w, 16), i * 2);
  return b;
}

/**
 * Runs `fn` with the calling thread inside the network namespace at `netnsPath` (a bind-mounted
 * netns file), then returns the thread to its own namespace before anything else runs. Only what
 * `fn` creates there (a socket, an open /dev/net/tun) keeps the namespace.
 */
export function onThreadInNetns<T>(netnsPath: string, fn: () => T): T {
  const target = openSync(netnsPath, "r");
  try {
    const own = openSync("/proc/thread-self/ns/net", "r");
    try {
      check(setnsFn()(target, CLONE_NEWNET), "setns", netnsPath);
      try {
        return fn();
      } finally {
        // a thread left in the wrong namespace would move every later socket: this must not fail
        check(setnsFn()(own, CLONE_NEWNET), "setns", "back to this thread's network namespace");
      }
    } finally {
      closeSync(own);
    }
  } finally {
    closeSync(target);
  }
}

/** Creates a socket() inside the network namespace at `netnsPath` (a bind-mounted netns file). */
export function socketInNetns(netnsPath: string, family: 4 | 6): number {
  return onThreadInNetns(netnsPath, () =>
    check(
      socketFn()(family === 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0),
      "socket",
      `in ${netnsPath}`,
    ),
  );
}

function familyOf(address: string): 4 | 6 {
  return isIPv6(address) ? 6 : 4;
}

function closeQuietly(fd: number): void {
  closeFn()(fd);
}

/** A listening TCP socket on address:port inside the namespace; the caller owns the fd. */
export function listenTcpInNetns(netnsPath: string, address: string, port: number, backlog = 128): number {
  const family = familyOf(address);
  const fd = socketInNetns(netnsPath, family);
  try {
    const one = Buffer.alloc(4);
    one.writeInt32LE(1);
    check(setsockoptFn()(fd, SOL_SOCKET, SO_REUSEADDR, one, 4), "setsockopt", "SO_REUSEADDR");
    if (family === 6)
      check(setsockoptFn()(fd, IPPROTO_IPV6, IPV6_V6ONLY, one, 4), "setsockopt", "IPV6_V6ONLY");
    const addr = sockaddr(address, port);
    check(bindFn()(fd, addr, addr.length), "bind", `${address}:${port} in ${netnsPath}`);
    check(listenFn()(fd, backlog), "listen", `${address}:${port} in ${netnsPath}`);
    return fd;
  } catch (err) {
    closeQuietly(fd);
    throw err;
  }
}

/**
 * A TCP socket connected to address:port inside the namespace; the caller owns the fd. The
 * connect is blocking: meant for loopback addresses, where it completes (or is refused) at once.
 */
export function connectTcpInNetns(netnsPath: string, address: string, port: number): number {
  const fd = socketInNetns(netnsPath, familyOf(address));
  try {
    const addr = sockaddr(address, port);
    check(connectFn()(fd, addr, addr.length), "connect", `${address}:${port} in ${netnsPath}`);
    return fd;
  } catch (err) {
    closeQuietly(fd);
    throw err;
  }
}
