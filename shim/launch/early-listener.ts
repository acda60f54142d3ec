/**
 * The daemon's socket, listening before the heavy modules load: `start` waits for the socket to
 * answer, and on a busy host loading the Task service and the sandbox code is most of a daemon's
 * first second. Connections accepted before the server is ready are held (paused) and handed to
 * it in order once it is.
 */
import { chmodSync, unlinkSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";

export interface EarlyListener {
  /** From now on every connection (the held ones first) goes to `serve`. */
  handTo(serve: (socket: Socket) => void): void;
  close(): Promise<void>;
}

export async function listenEarly(path: string): Promise<EarlyListener> {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const held: Socket[] = [];
  let serve: ((socket: Socket) => void) | undefined;
  const server: Server = createServer((socket) => {
    if (serve) serve(socket);
    else {
      socket.pause();
      held.push(socket);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      resolve();
    });
  });
  chmodSync(path, 0o600);
  return {
    handTo(fn) {
      serve = fn;
      for (const s of held.splice(0)) {
        fn(s);
        s.resume();
      }
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
