#!/usr/bin/env node
/**
 * `tskata-runtime`: runc's command line for callers that drive an OCI runtime that way (Docker
 * 20.10, podman/conmon, containerd's runc shim with BinaryName). Each container runs in its own
 * VM; a host stand-in process is its init as the caller sees it (docs/docker.md).
 */
import { parseCommandLine } from "./args.js";
import * as cmd from "./commands.js";
import { RuntimeError } from "./errors.js";
import { STANDIN_COMMAND } from "./launch-standin.js";
import { reportError } from "./report-error.js";
import { REAP_COMMAND, type ReapParams, reapSandbox } from "./sandbox-reaper.js";
import {
  type ContainerStandinParams,
  type ExecStandinParams,
  runContainerStandin,
  runExecStandin,
} from "./standin.js";
import { DEFAULT_ROOT } from "./state-store.js";

async function run(argv: string[]): Promise<number> {
  if (argv[0] === STANDIN_COMMAND) {
    const params = JSON.parse(argv[1] ?? "{}") as ContainerStandinParams | ExecStandinParams;
    if (params.kind === "container") await runContainerStandin(params);
    else await runExecStandin(params);
    return -1; // the stand-in exits by itself
  }
  if (argv[0] === REAP_COMMAND) {
    await reapSandbox(JSON.parse(argv[1] ?? "{}") as ReapParams);
    return 0;
  }
  let logOpts = { log: undefined as string | undefined, logFormat: "text" };
  try {
    const line = parseCommandLine(argv);
    const g = line.global;
    logOpts = {
      log: g.log as string | undefined,
      logFormat: (g["log-format"] as string | undefined) ?? "text",
    };
    if (logOpts.logFormat !== "text" && logOpts.logFormat !== "json") {
      const bad = logOpts.logFormat;
      logOpts.logFormat = "text";
      throw new RuntimeError("RUNTIME_USAGE", `invalid log-format: ${bad}`);
    }
    const ctx: cmd.Context = {
      root: (g.root as string | undefined) ?? DEFAULT_ROOT,
      debug: g.debug === true,
      systemdCgroup: g["systemd-cgroup"] === true,
      out: (t) => process.stdout.write(t),
    };
    const [id = "", ...rest] = line.args;
    const f = line.flags;
    switch (line.command) {
      case undefined:
        if (g.version) return cmd.version(ctx);
        process.stdout.write(
          "usage: tskata-runtime [global options] command [command options] [arguments...]\n",
        );
        return g.help ? 0 : 1;
      case "create":
        return await cmd.create(ctx, id, f);
      case "run":
        throw new RuntimeError(
          "RUNTIME_USAGE",
          "run: use create and start (tskata-runtime runs every container detached)",
        );
      case "start":
        return await cmd.start(ctx, id);
      case "state":
        return cmd.state(ctx, id);
      case "kill":
        return await cmd.kill(ctx, id, rest[0], f);
      case "delete":
        return await cmd.del(ctx, id, f);
      case "exec":
        return await cmd.exec(ctx, id, rest, f);
      case "ps":
        return await cmd.ps(ctx, id, f);
      case "pause":
      case "resume":
        return await cmd.pauseResume(ctx, id, line.command);
      case "update":
        return await cmd.update(ctx, id, f);
      case "events":
        return await cmd.events(ctx, id, f);
      case "list":
        return cmd.list(ctx, f);
      case "spec":
        return cmd.spec(ctx, f);
      case "features":
        return cmd.featuresCommand(ctx);
      default:
        throw new RuntimeError("RUNTIME_USAGE", `No help topic for '${line.command}'`);
    }
  } catch (err) {
    reportError(err instanceof RuntimeError ? err.message : String((err as Error).message ?? err), logOpts);
    return 1;
  }
}

const status = await run(process.argv.slice(2));
if (status >= 0) {
  process.exitCode = status;
}
