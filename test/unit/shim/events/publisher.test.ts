import { fromBinary } from "@bufbuild/protobuf";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { TaskExitSchema, TaskStartSchema } from "../../../../protocol/generated/containerd/events/task_pb.js";
import {
  type Envelope,
  Events,
} from "../../../../protocol/generated/containerd/services/events/ttrpc/v1/events_pb.js";
import { Code } from "../../../../protocol/ttrpc/codes.js";
import { TtrpcError } from "../../../../protocol/ttrpc/errors.js";
import { registerService } from "../../../../protocol/ttrpc/service.js";
import { EventPublisher } from "../../../../shim/events/publisher.js";
import { type ServerFixture, startServer } from "../../../support/ttrpc-pair.js";

const log = pino({ level: "silent" });
let fx: ServerFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

async function eventsServer(received: { env: Envelope; ns: string | undefined }[], failFirst = 0) {
  const f = await startServer();
  let failures = failFirst;
  registerService(f.server, Events, {
    forward: (req, ctx) => {
      if (failures-- > 0) throw new TtrpcError(Code.UNAVAILABLE, "containerd busy");
      received.push({ env: req.envelope!, ns: ctx.metadata.get("containerd-namespace-ttrpc")?.[0] });
      return {};
    },
  });
  return f;
}

describe("event publisher", () => {
  it("forwards events in publish order with bare type URLs, namespace and timestamp", async () => {
    const got: { env: Envelope; ns: string | undefined }[] = [];
    fx = await eventsServer(got);
    const p = new EventPublisher({ address: `unix://${fx.socketPath}`, namespace: "ns1", log });
    p.publish("/tasks/start", { containerId: "c1", pid: 10 });
    for (let i = 0; i < 20; i++) p.publish("/tasks/exit", { containerId: "c1", id: `e${i}`, exitStatus: i });
    await p.close();
    expect(got).toHaveLength(21);
    expect(got[0]!.env.topic).toBe("/tasks/start");
    expect(got[0]!.env.event?.typeUrl).toBe("containerd.events.TaskStart");
    expect(fromBinary(TaskStartSchema, got[0]!.env.event!.value)).toMatchObject({
      containerId: "c1",
      pid: 10,
    });
    expect(got.slice(1).map((g) => fromBinary(TaskExitSchema, g.env.event!.value).id)).toEqual(
      Array.from({ length: 20 }, (_, i) => `e${i}`),
    );
    expect(
      got.every((g) => g.env.namespace === "ns1" && g.ns === "ns1" && g.env.timestamp !== undefined),
    ).toBe(true);
  });

  it("retries a failed send and keeps the order", async () => {
    const got: { env: Envelope; ns: string | undefined }[] = [];
    fx = await eventsServer(got, 2);
    const p = new EventPublisher({ address: fx.socketPath, namespace: "n", log, backoffMs: 5 });
    p.publish("/tasks/create", { containerId: "a" });
    p.publish("/tasks/delete", { containerId: "a" });
    await p.flush();
    expect(got.map((g) => g.env.topic)).toEqual(["/tasks/create", "/tasks/delete"]);
  });

  it("gives up on an event after the last attempt and delivers the next ones", async () => {
    const got: { env: Envelope; ns: string | undefined }[] = [];
    fx = await eventsServer(got, 3);
    const p = new EventPublisher({ address: fx.socketPath, namespace: "n", log, attempts: 3, backoffMs: 1 });
    p.publish("/tasks/oom", { containerId: "lost" });
    p.publish("/tasks/paused", { containerId: "kept" });
    await p.flush();
    expect(got.map((g) => g.env.topic)).toEqual(["/tasks/paused"]);
  });

  it("reconnects when containerd's socket comes back", async () => {
    const got: { env: Envelope; ns: string | undefined }[] = [];
    fx = await eventsServer(got);
    const path = fx.socketPath;
    const p = new EventPublisher({ address: path, namespace: "n", log, backoffMs: 20, attempts: 10 });
    p.publish("/tasks/start", { containerId: "before" });
    await p.flush();
    await fx.server.shutdown();
    p.publish("/tasks/exit", { containerId: "after" });
    await new Promise((r) => setTimeout(r, 30));
    await fx.server.listen(path);
    await p.flush();
    expect(got.map((g) => g.env.topic)).toEqual(["/tasks/start", "/tasks/exit"]);
  });
});
