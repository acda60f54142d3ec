/** A ttrpc client of one shim's admin endpoint (tskata.admin.v1.Admin) over its unix socket. */
import { connect } from "node:net";
import { Admin } from "../../protocol/generated/tskata/admin/v1/admin_pb.js";
import { Client } from "../../protocol/ttrpc/client.js";
import { createClient, type ServiceClient } from "../../protocol/ttrpc/service.js";
import { CliError } from "../errors.js";

export type AdminApi = ServiceClient<typeof Admin>;

export interface AdminConnection {
  api: AdminApi;
  close(): void;
}

/** Connects within timeoutMs; CLI_SANDBOX_UNREACHABLE naming the socket when nothing answers. */
export function connectAdmin(socketPath: string, timeoutMs = 3000): Promise<AdminConnection> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new CliError("CLI_SANDBOX_UNREACHABLE", `${socketPath}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new CliError("CLI_SANDBOX_UNREACHABLE", `${socketPath}: ${err.code ?? err.message}`, { cause: err }),
      );
    });
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      const client = new Client(socket);
      resolve({ api: createClient(client, Admin), close: () => client.close() });
    });
  });
}
