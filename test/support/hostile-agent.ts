/**
 * An agent that cannot be trusted, for the host's robustness tests: a raw ttrpc peer on a unix
 * socket whose answer to each call is chosen by the test — a proper reply, a reply that is not the
 * message the method returns, a frame over the 4 MiB limit, random bytes on the wire, or silence.
 * The shim side talks to it through the real client (AgentClient over the socket).
 */
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, type DescMessage, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { Agent } from "../../protocol/generated/tskata/agent/v1/agent_pb.js";
import { decodeRequest, encodeOkResponse } from "../../protocol/ttrpc/envelope.js";
import {
  encodeFrame,
  encodeHeader,
  FrameReader,
  FrameType,
  isOversized,
} from "../../protocol/ttrpc/frame.js";
import { AgentClient } from "../../shim/agent-client/agent-client.js";

export type HostileAnswer =
  | { kind: "reply"; message: MessageInitShape<DescMessage> }
  | { kind: "wrong-type" }
  | { kind: "oversized"; bytes: number }
  | { kind: "garbage-on-wire"; bytes: number }
  | { kind: "silence" };

export interface HostileCall {
  method: string;
  request: Record<string, unknown>;
}

export interface HostileAgent {
  client: AgentClient;
  calls: HostileCall[];
  /** Bytes the agent wrote to the wire so far. */
  bytesSent(): number;
  close(): Promise<void>;
}

export async function startHostileAgent(answer: (call: HostileCall) => HostileAnswer): Promise<HostileAgent> {
  const dir = mkdtempSync(join(tmpdir(), "tskata-hostile-"));
  const socketPath = join(dir, "agent.sock");
  const calls: HostileCall[] = [];
  const sockets = new Set<net.Socket>();
  let sent = 0;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    const reader = new FrameReader();
    const write = (b: Buffer) => {
      sent += b.length;
      if (!socket.destroyed) socket.write(b);
    };
    socket.on("data", (chunk: Buffer) => {
      for (const frame of reader.push(chunk)) {
        if (isOversized(frame) || frame.type !== FrameType.REQUEST) continue;
        const req = decodeRequest(frame.payload);
        const method = Agent.methods.find((m) => m.name === req.method);
        const request = method
          ? (fromBinary(method.input, req.payload) as unknown as Record<string, unknown>)
          : {};
        const call = { method: req.method, request };
        calls.push(call);
        const a = answer(call);
        switch (a.kind) {
          case "reply": {
            if (!method) break;
            const payload = toBinary(method.output, create(method.output, a.message));
            write(encodeFrame(frame.streamId, FrameType.RESPONSE, 0, encodeOkResponse(payload)));
            break;
          }
          case "wrong-type":
            // field 1 as a varint where the reply's field 1 is a string/bytes/message, or a
            // truncated length-delimited field: never a valid reply of any method
            write(
              encodeFrame(
                frame.streamId,
                FrameType.RESPONSE,
                0,
                encodeOkResponse(Buffer.from([0x0a, 0x7f, 0x01])),
              ),
            );
            break;
          case "oversized":
            write(encodeHeader(a.bytes, frame.streamId, FrameType.RESPONSE, 0));
            write(Buffer.alloc(a.bytes, 0x41));
            break;
          case "garbage-on-wire":
            write(Buffer.from(Array.from({ length: a.bytes }, (_, i) => (i * 131 + 7) & 0xff)));
            break;
          case "silence":
            break;
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const stream = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(socketPath, () => resolve(s));
    s.once("error", reject);
  });
  const client = new AgentClient(stream);
  return {
    client,
    calls,
    bytesSent: () => sent,
    async close() {
      client.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
