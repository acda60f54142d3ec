import { build } from "esbuild";

/** Packages left out of the bundle and copied beside it (koffi loads a native .node file). */
export const AGENT_EXTERNALS = ["koffi"];

/**
 * Bundles the agent (entry agent/main.ts) into one ESM file for the guest's Node. CommonJS
 * dependencies bundled into ESM need a `require`, which the banner provides.
 */
export async function bundleAgent(entry: string, outfile: string, version: string): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    external: AGENT_EXTERNALS,
    minifySyntax: true,
    legalComments: "none",
    logLevel: "warning",
    define: { __TSKATA_AGENT_VERSION__: JSON.stringify(version) },
    banner: {
      js: 'import { createRequire as __tskataCreateRequire } from "node:module"; const require = __tskataCreateRequire(import.meta.url);',
    },
  });
}
