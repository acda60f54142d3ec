/** The TypeScript side of the ttrpc benchmark: an Echo server on a unix socket, in its own process. */
import { Server } from "../../protocol/ttrpc/server.js";

const path = process.argv[2];
if (!path) {
  console.error("usage: ts-echo-server SOCKET");
  process.exit(2);
}
const server = new Server();
server.register("tskata.interop.v1.Echo", new Map([["Echo", (p: Uint8Array) => p]]));
await server.listen(path);
console.log("ready");
process.stdin.resume();
process.stdin.on("end", () => void server.shutdown().then(() => process.exit(0)));
