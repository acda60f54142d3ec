import { existsSync } from "node:fs";
import { createServer } from "node:net";
import koffi from "koffi";
import { describe, expect, it } from "vitest";
import { AF_VSOCK, sockaddrVm, socketFromFd, vsockConnect } from "../../../native/vsock.js";
import { vhostVsockAvailability } from "../../../shim/agent-client/transport/vsock.js";

describe("native vsock", () => {
  it("lays out sockaddr_vm as the kernel expects", () => {
    const a = sockaddrVm(0x11223344, 1024);
    expect(a.length).toBe(16);
    expect(a.readUInt16LE(0)).toBe(AF_VSOCK);
    expect(a.readUInt16LE(2)).toBe(0);
    expect(a.readUInt32LE(4)).toBe(1024);
    expect(a.readUInt32LE(8)).toBe(0x11223344);
    expect(a.readUInt32LE(12)).toBe(0);
  });

  it("wraps a raw connected socket fd in a net.Socket (the path vsock fds take)", async () => {
    const path = `/tmp/tskata-fdwrap-${process.pid}.sock`;
    const server = createServer((s) => s.pipe(s));
    await new Promise<void>((resolve) => server.listen(path, resolve));
    const libc = koffi.load("libc.so.6");
    const socket = libc.func("int socket(int, int, int)");
    const connect = libc.func("int connect(int, const void *, uint32_t)");
    const fd = socket(1 /* AF_UNIX */, 1 | 0o2000000, 0) as number;
    const addr = Buffer.alloc(110);
    addr.writeUInt16LE(1, 0);
    addr.write(path, 2);
    expect(connect(fd, addr, addr.length)).toBe(0);
    const s = socketFromFd(fd);
    const echoed = new Promise<string>((resolve) => s.once("data", (d: Buffer) => resolve(d.toString())));
    s.write("through the pipe handle");
    expect(await echoed).toBe("through the pipe handle");
    s.destroy();
    server.close();
  });

  it("reports why vsock is unusable instead of hanging", async () => {
    const availability = await vhostVsockAvailability();
    if (existsSync("/dev/vhost-vsock")) return; // a host with vsock: nothing to guard
    expect(availability).toEqual({
      usable: false,
      reason: expect.stringContaining("/dev/vhost-vsock does not exist"),
    });
    const err = await vsockConnect(3, 1024, 500).catch((e: unknown) => e);
    expect((err as { code: string }).code).toMatch(/^(ENODEV|EAFNOSUPPORT|ETIMEDOUT|ECONNRESET)$/);
  });
});
