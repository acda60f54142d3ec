#!/usr/bin/env node
/**
 * containerd-shim-tskata-v2: the binary containerd runs for runtime io.containerd.tskata.v2.
 * This entry only parses the launch command line and dispatches; the Task service, the sandbox
 * and the start/delete protocol live in their own modules.
 */
import { parseShimFlags, ShimFlagError } from "./launch/flags.js";

function main(argv: readonly string[]): number {
  let flags: ReturnType<typeof parseShimFlags>;
  try {
    flags = parseShimFlags(argv);
  } catch (err) {
    if (err instanceof ShimFlagError) {
      process.stderr.write(`containerd-shim-tskata-v2: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  // The Task service (start, delete, serve) is the subject of the shim issue; until it lands
  // this binary refuses clearly instead of pretending to run a task.
  process.stderr.write(
    `containerd-shim-tskata-v2: action ${flags.action} for ${flags.namespace}/${flags.id} is not supported by this build yet (the Task service is not implemented)\n`,
  );
  return 1;
}

process.exitCode = main(process.argv.slice(2));
