/**
 * Wraps an fd (pipe end, pty master, socket) in a net.Socket through a libuv pipe handle, which
 * streams any pollable fd non-blockingly. No koffi here: safe to import at startup.
 */
import { Socket } from "node:net";

interface PipeWrap {
  Pipe: new (type: number) => { open(fd: number): number | undefined };
  constants: { SOCKET: number };
}

/** The socket owns the fd from here on (destroy() closes it). */
export function streamFromFd(
  fd: number,
  mode: { readable: boolean; writable: boolean } = { readable: true, writable: true },
): Socket {
  const { Pipe, constants } = (process as unknown as { binding(name: string): PipeWrap }).binding(
    "pipe_wrap",
  );
  const handle = new Pipe(constants.SOCKET);
  const err = handle.open(fd);
  if (typeof err === "number" && err < 0) throw new Error(`cannot stream fd ${fd}: uv error ${err}`);
  return new Socket({ handle, ...mode } as unknown as ConstructorParameters<typeof Socket>[0]);
}
