import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/**
 * `npm run test:oci`: tskata-runtime driven by real Docker 20.10, podman and containerd's runc
 * shim (issue #11). Not in `npm test`: one case (`docker run --rm` leaves dockerd's state
 * directory) still fails, and the suite needs docker.io and podman (docs/docker.md).
 */
export default defineConfig({
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    include: ["test/oci/**/*.oci.ts"],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
    reporters: ["default"],
  },
});
