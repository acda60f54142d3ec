import { build } from "esbuild";
import { GUEST_PATHS } from "./config.js";
import { run } from "./exec.js";

/** Packages left out of the bundle and copied beside it (koffi loads a native .node file). */
export const AGENT_EXTERNALS = ["koffi"];

/**
 * Bundles the agent (entry agent/main.ts) into one CommonJS file for the guest's Node. CommonJS,
 * because V8 startup snapshots take scripts, not ES modules; `import.meta.url` (used to find
 * koffi beside the bundle) is fixed to the bundle's path in the guest.
 */
export async function bundleAgent(entry: string, outfile: string, version: string): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    external: AGENT_EXTERNALS,
    minifySyntax: true,
    legalComments: "none",
    logLevel: "error",
    define: {
      __TSKATA_AGENT_VERSION__: JSON.stringify(version),
      "import.meta.url": JSON.stringify(`file://${GUEST_PATHS.agentEntry}`),
    },
  });
}

/**
 * Takes a V8 startup snapshot of the bundle with the guest's own Node binary: module evaluation
 * (protobuf descriptors, pino, …) is done here once instead of at every boot, where it cost
 * ~1.7 s under TCG. The agent's main runs after deserialisation. Node only accepts the snapshot
 * under the same V8 flags and on a CPU with the same features, so it runs under QEMU user-mode
 * emulation of the guest's CPU model (package qemu-user) with the guest's Node flags.
 */
export async function snapshotAgent(
  node: string,
  bundle: string,
  blob: string,
  nodeFlags: readonly string[],
  cpuModel: string,
): Promise<void> {
  const env = { ...process.env };
  delete env["NODE_OPTIONS"];
  await run(
    "qemu-x86_64",
    ["-cpu", cpuModel, node, ...nodeFlags, "--snapshot-blob", blob, "--build-snapshot", bundle],
    {
      env,
    },
  );
}
