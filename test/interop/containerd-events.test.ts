/**
 * Interop with a peer we did not write (a): our ttrpc client publishes a TaskExit through a real
 * containerd 1.6's ttrpc socket (Events/Forward, as a shim does), and containerd's own event
 * stream (`ctr events`) shows it.
 */
import { connect } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ContainerdFixture, startContainerd } from "../../cli/demo/private-containerd.js";
import { TaskExitSchema } from "../../protocol/generated/containerd/events/task_pb.js";
import { Events } from "../../protocol/generated/containerd/services/events/ttrpc/v1/events_pb.js";
import { Client } from "../../protocol/ttrpc/client.js";
import { Code } from "../../protocol/ttrpc/codes.js";
import { TtrpcError } from "../../protocol/ttrpc/errors.js";
import { createClient } from "../../protocol/ttrpc/service.js";

async function dial(path: string): Promise<Client> {
  const sock = connect(path);
  await new Promise<void>((resolve, reject) => {
    sock.once("connect", resolve);
    sock.once("error", reject);
  });
  return new Client(sock, { metadata: new Map([["containerd-namespace-ttrpc", ["tskata-interop"]]]) });
}

describe("ttrpc interop with containerd 1.6", () => {
  let ctrd: ContainerdFixture;
  beforeAll(async () => {
    ctrd = await startContainerd();
  }, 60_000);
  afterAll(async () => ctrd?.stop());

  it("publishes containerd.events.TaskExit with Events/Forward and containerd streams it to `ctr events`", async () => {
    const watcher = ctrd.spawnCtr(["events"]);
    let seen = "";
    watcher.stdout!.on("data", (d: Buffer) => {
      seen += d.toString();
    });
    try {
      // ctr events prints nothing until an event arrives: publish until one shows up.
      const client = await dial(ctrd.ttrpcAddress);
      const events = createClient(client, Events);
      const exitedAt = { seconds: BigInt(Math.floor(Date.now() / 1000)), nanos: 0 };
      const event = toBinary(
        TaskExitSchema,
        create(TaskExitSchema, {
          containerId: "interop-c1",
          id: "interop-c1",
          pid: 4242,
          exitStatus: 42,
          exitedAt,
        }),
      );
      const deadline = Date.now() + 15_000;
      while (!seen.includes("interop-c1") && Date.now() < deadline) {
        await events.forward(
          {
            envelope: {
              timestamp: exitedAt,
              namespace: "tskata-interop",
              topic: "/tasks/exit",
              event: { typeUrl: "containerd.events.TaskExit", value: event },
            },
          },
          { timeoutMs: 5000 },
        );
        await new Promise((r) => setTimeout(r, 200));
      }
      const line = seen.split("\n").find((l) => l.includes("interop-c1")) ?? "";
      expect(line).toContain("tskata-interop");
      expect(line).toContain("/tasks/exit");
      expect(line).toMatch(/"pid":4242/);
      expect(line).toMatch(/"exit_status":42/);
      client.close();
    } finally {
      watcher.kill("SIGKILL");
    }
  });

  it("receives containerd's own error status as a typed error (an envelope without timestamp)", async () => {
    const client = await dial(ctrd.ttrpcAddress);
    const events = createClient(client, Events);
    const err = await events
      .forward({
        envelope: {
          namespace: "tskata-interop",
          topic: "/tasks/exit",
          event: { typeUrl: "containerd.events.TaskExit", value: new Uint8Array() },
        },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TtrpcError);
    expect(err).toMatchObject({ code: Code.INVALID_ARGUMENT });
    expect((err as Error).message).toContain("timestamp must be set on forwarded event");
    await expect(
      client.call("containerd.services.events.ttrpc.v1.Events", "NoSuchMethod", new Uint8Array()),
    ).rejects.toMatchObject({ code: Code.UNIMPLEMENTED });
    client.close();
  });
});
