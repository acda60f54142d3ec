import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/** The load suites (`npm run test:contract:load`): too slow for every CI run, kept out of `npm test`. */
export default defineConfig({
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    include: ["test/load/**/*.load.ts"],
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 600_000,
    reporters: ["default"],
  },
});
