#!/usr/bin/env node
/**
 * containerd-shim-tskata-v2: the binary containerd runs for runtime io.containerd.tskata.v2.
 * `start` finds or launches the pod's shim and prints its address, `delete` cleans up after a
 * dead shim, and no action serves the Task API (the daemon `start` spawns).
 */
import { fileURLToPath } from "node:url";
import { listenEarly } from "./launch/early-listener.js";
import { parseShimFlags, ShimFlagError, type ShimFlags } from "./launch/flags.js";

async function main(argv: readonly string[]): Promise<number> {
  let flags: ShimFlags;
  try {
    flags = parseShimFlags(argv);
  } catch (err) {
    if (err instanceof ShimFlagError) {
      process.stderr.write(`containerd-shim-tskata-v2: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  switch (flags.action) {
    case "start": {
      // each action loads only its own modules: `start` and the daemon's first answer stay cheap
      const { runtimeOptionsFromStdin, startShim } = await import("./launch/start.js");
      process.stdout.write(
        await startShim(flags, fileURLToPath(import.meta.url), undefined, runtimeOptionsFromStdin()),
      );
      return 0;
    }
    case "delete": {
      const { deleteShim } = await import("./launch/delete.js");
      const res = await deleteShim(flags, (msg) => process.stderr.write(`${msg}\n`));
      process.stdout.write(res);
      return 0;
    }
    case "serve":
      if (flags.socket === "") {
        process.stderr.write("containerd-shim-tskata-v2: serving needs -socket (it is started by `start`)\n");
        return 2;
      }
      {
        const early = await listenEarly(flags.socket);
        const { serveShim } = await import("./launch/serve.js");
        await serveShim(flags, early);
      }
      return -1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`containerd-shim-tskata-v2: ${(err as Error).message}\n`);
    process.exitCode = 1;
  },
);
