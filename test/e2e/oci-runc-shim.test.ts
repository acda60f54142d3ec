/**
 * containerd's own runc shim (Debian's containerd 1.6) with its runc binary set to
 * `tskata-runtime` (`ctr run --runc-binary`, the `BinaryName` option): the container runs in its
 * own VM (TCG here), its output and exit code are the guest's, and `--rm` leaves nothing.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBusyboxImage } from "../../cli/demo/busybox-image.js";
import { type ContainerdFixture, startContainerd } from "../../cli/demo/private-containerd.js";
import { DEFAULT_ROOT } from "../../cli/runtime/state-store.js";
import {
  buildRuntime,
  HOST_KERNEL,
  IMAGE,
  RUNTIME,
  VM_MS,
  waitForNoLeftovers,
} from "../support/oci-fixtures.js";

let ctrd: ContainerdFixture;
beforeAll(async () => {
  buildRuntime();
  ctrd = await startContainerd({});
  await ctrd.ctr(["images", "import", buildBusyboxImage(join(ctrd.dir, "busybox.tar"))]);
}, 180_000);
afterAll(async () => ctrd?.stop());

describe("containerd's runc shim with BinaryName = tskata-runtime", () => {
  it(
    "ctr run prints output from the guest kernel, propagates the exit code, and --rm leaves nothing",
    async () => {
      const r = await ctrd.exec(
        [
          "run",
          "--runtime",
          "io.containerd.runc.v2",
          "--runc-binary",
          RUNTIME,
          "--rm",
          IMAGE,
          "ocishim1",
          "sh",
          "-c",
          "echo hi; uname -r; exit 3",
        ],
        { timeoutMs: VM_MS },
      );
      expect(r.stdout).toMatch(/^hi\n6\.1\.0-.*-cloud-amd64\n$/);
      expect(r.stdout).not.toContain(HOST_KERNEL);
      expect(r.code).toBe(3);
      // the runc shim's default runc root for namespace "default"
      expect(await waitForNoLeftovers("ocishim1", join("/run/containerd/runc", "default"))).toEqual([]);
      expect(await waitForNoLeftovers("ocishim1", DEFAULT_ROOT)).toEqual([]);
    },
    VM_MS,
  );
});
