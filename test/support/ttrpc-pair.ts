/** A ttrpc server listening on a temporary unix socket, and clients connected to it. */
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, type ClientOptions } from "../../protocol/ttrpc/client.js";
import { Server, type ServerOptions } from "../../protocol/ttrpc/server.js";

export interface ServerFixture {
  server: Server;
  socketPath: string;
  connect(options?: ClientOptions): Promise<Client>;
  rawConnect(): Promise<net.Socket>;
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions = {}): Promise<ServerFixture> {
  const dir = mkdtempSync(join(tmpdir(), "tskata-ttrpc-"));
  const socketPath = join(dir, "ttrpc.sock");
  const server = new Server(options);
  await server.listen(socketPath);
  const clients: Client[] = [];
  const raws: net.Socket[] = [];
  const rawConnect = () =>
    new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(socketPath, () => resolve(s));
      s.once("error", reject);
      raws.push(s);
    });
  return {
    server,
    socketPath,
    rawConnect,
    async connect(clientOptions) {
      const c = new Client(await rawConnect(), clientOptions);
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.close();
      for (const s of raws) s.destroy();
      await server.shutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
