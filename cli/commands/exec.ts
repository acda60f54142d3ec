/**
 * `tskata exec [--tty|--no-tty] [--config PATH | --state-dir DIR] SANDBOX [CMD...]`: a process
 * (a shell by default) in the sandbox's guest for debugging, through its shim's admin socket;
 * the exit status is the guest command's. The sandbox's configuration must allow it
 * ([agent] debug_exec = true).
 */
import { connectAdmin } from "../admin/admin-client.js";
import { parseExecArgs } from "../admin/exec-args.js";
import { runExec } from "../admin/exec-session.js";
import { listSandboxDirs, resolveSandbox } from "../admin/sandbox-dirs.js";
import { stateDirOf } from "../admin/state-dir.js";

export async function exec(args: readonly string[]): Promise<number> {
  const parsed = parseExecArgs(args);
  const stateDir = stateDirOf({ config: parsed.config, "state-dir": parsed.stateDir });
  const target = resolveSandbox(await listSandboxDirs(stateDir), parsed.sandbox, stateDir);
  const conn = await connectAdmin(target.adminSocket);
  try {
    return await runExec(
      conn.api,
      { args: parsed.command, tty: parsed.tty },
      {
        stdin: process.stdin,
        stdout: process.stdout,
        stderr: process.stderr,
        onResize(fn) {
          process.on("SIGWINCH", fn);
          return () => process.off("SIGWINCH", fn);
        },
      },
    );
  } finally {
    conn.close();
  }
}
