import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/** The soak (`npm run test:soak`): long, run by hand or nightly, kept out of `npm test`. */
export default defineConfig({
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    include: ["test/soak/**/*.soak.ts"],
    fileParallelism: false,
    testTimeout: 1_800_000,
    hookTimeout: 600_000,
    reporters: ["default"],
  },
});
