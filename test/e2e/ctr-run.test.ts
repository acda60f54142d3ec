/**
 * `ctr run --runtime io.containerd.tskata.v2` against a real containerd 1.6: each task in its
 * own micro-VM (TCG here), output, exit codes and cleanup as containerd sees them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  IMAGE,
  RUNTIME,
  startTskataContainerd,
  type TskataContainerd,
} from "../support/tskata-containerd.js";

let ctrd: TskataContainerd;
beforeAll(async () => {
  ctrd = await startTskataContainerd();
}, 180_000);
afterAll(async () => ctrd?.close());

describe("ctr run with the tskata runtime", () => {
  it("prints a container's output and removes everything with --rm", async () => {
    const out = await ctrd.ctr(
      ["run", "--rm", "--runtime", RUNTIME, IMAGE, "echo1", "echo", "hello from tskata"],
      {
        timeoutMs: 180_000,
      },
    );
    expect(out).toBe("hello from tskata\n");
  }, 200_000);
});
