/**
 * Issue 8, item 6 at full size: six pods (six shims, six VMs under TCG on a 2-core host) started
 * at the same moment with `ctr run -d` all come up, and all go away without leftovers (about
 * 40 s here; test/e2e/task-contract.test.ts keeps a three-pod case beside the other items).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  IMAGE,
  RUNTIME,
  startTskataContainerd,
  type TskataContainerd,
} from "../../cli/demo/tskata-containerd.js";
import { shimSocketPath } from "../../shim/launch/socket-address.js";
import { expectNoLeftovers } from "../support/leftovers.js";

const PODS = Array.from({ length: 6 }, (_, i) => `load-${i}`);
const LOAD_MS = 900_000;

let ctrd: TskataContainerd;
beforeAll(async () => {
  ctrd = await startTskataContainerd();
}, 180_000);
afterAll(async () => {
  for (const id of PODS) {
    await ctrd?.exec(["task", "kill", "-s", "SIGKILL", id]);
    await ctrd?.exec(["task", "rm", "-f", id], { timeoutMs: 120_000 });
    await ctrd?.exec(["containers", "rm", id]);
  }
  await ctrd?.close();
}, LOAD_MS);

describe("six pods started at once on a busy host", () => {
  it(
    "all come up, and all go away leaving nothing behind",
    async () => {
      const t0 = Date.now();
      const runs = await Promise.all(
        PODS.map((id) =>
          ctrd.exec(["run", "-d", "--runtime", RUNTIME, IMAGE, id, "sleep", "100000"], {
            timeoutMs: LOAD_MS,
          }),
        ),
      );
      const took = Date.now() - t0;
      expect(runs.map((r, i) => ({ id: PODS[i], code: r.code, stderr: r.stderr }))).toEqual(
        PODS.map((id) => ({ id, code: 0, stderr: "" })),
      );
      const ls = await ctrd.ctr(["task", "ls"]);
      for (const id of PODS) expect(ls).toMatch(new RegExp(`${id}\\s+\\d+\\s+RUNNING`));
      console.log(`six pods up in ${took} ms`);
      for (const id of PODS) {
        await ctrd.exec(["task", "kill", "-s", "SIGKILL", id]);
        await ctrd.exec(["task", "rm", "-f", id], { timeoutMs: 120_000 });
        await ctrd.exec(["containers", "rm", id]);
        expect(await expectNoLeftovers(id, shimSocketPath(ctrd.grpcAddress, "default", id), 30_000)).toEqual(
          [],
        );
      }
    },
    LOAD_MS,
  );
});
