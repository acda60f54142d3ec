import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/**
 * The full fault matrix (`npm run test:faults`): every fault at every stage, one pod (VM) per
 * cell, about 20 s each under TCG. `npm test` runs the light subset (test/faults/light.test.ts).
 */
export default defineConfig({
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    include: ["test/faults/**/*.faults.ts"],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
    reporters: ["default"],
  },
});
