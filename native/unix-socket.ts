/**
 * What every AF_UNIX fd-passing binding here shares: the socket constants, `struct sockaddr_un`
 * for a path, and the `struct msghdr` / `struct iovec` koffi types (declared once per process:
 * koffi refuses a second struct of the same name).
 */
import { koffi } from "./libc.js";

export const AF_UNIX = 1;
export const SOCK_STREAM = 1;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SCM_RIGHTS = 1;

/** `struct sockaddr_un` for `path` (at most 107 bytes: the kernel's sun_path with its NUL). */
export function sockaddrUn(path: string): Buffer {
  const bytes = Buffer.from(path, "utf8");
  if (bytes.length > 107) throw new RangeError(`console socket path too long: ${path}`);
  const addr = Buffer.alloc(110);
  addr.writeUInt16LE(AF_UNIX, 0);
  bytes.copy(addr, 2);
  return addr;
}

let msghdr: string | undefined;

/** The koffi type name of `struct msghdr` (its `msg_iov` a `struct iovec *`), declared on first use. */
export function msghdrType(): string {
  if (msghdr) return msghdr;
  const k = koffi();
  k.struct("tskata_iovec", { iov_base: "void *", iov_len: "size_t" });
  k.struct("tskata_msghdr", {
    msg_name: "void *",
    msg_namelen: "uint32_t",
    msg_iov: "tskata_iovec *",
    msg_iovlen: "size_t",
    msg_control: "void *",
    msg_controllen: "size_t",
    msg_flags: "int",
  });
  msghdr = "tskata_msghdr";
  return msghdr;
}
