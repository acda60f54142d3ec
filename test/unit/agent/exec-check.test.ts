/**
 * After `crun start`, the agent tells a workload that runs from an init that could not exec it:
 * real processes stand in for crun's init (waiting on stdin as crun's waits on exec.fifo).
 */
import { spawn } from "node:child_process";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { crunErrorsSince, execFailure, noteBeforeExec } from "../../../agent/container/exec-check.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tskata-execcheck-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A stand-in init: waits for a line on stdin (the release), then runs `then`. */
function init(then: string) {
  const child = spawn("/bin/sh", ["-c", `read release; ${then}`], { stdio: ["pipe", "ignore", "ignore"] });
  let exited = false;
  child.on("exit", () => {
    exited = true;
  });
  return { child, exited: () => exited, release: () => child.stdin.write("go\n") };
}

async function waitForExe(pid: number): Promise<void> {
  // the shell must be running (its exe readable) before the check notes it
  for (let i = 0; i < 100 && noteBeforeExec(pid, "/nonexistent").exe === undefined; i++)
    await new Promise((r) => setTimeout(r, 10));
}

describe("exec confirmation after Start", () => {
  it("answers undefined once the init has exec'd its workload", async () => {
    const log = join(dir, "init.log");
    writeFileSync(log, '{"msg":"an old warning from create","level":"error"}\n');
    const p = init("exec sleep 5");
    await waitForExe(p.child.pid!);
    const pre = noteBeforeExec(p.child.pid!, log);
    p.release();
    expect(await execFailure(p.child.pid!, pre, p.exited)).toBeUndefined();
    p.child.kill("SIGKILL");
  });

  it("answers crun's reason when the init ends with an error logged after create", async () => {
    const log = join(dir, "init.log");
    writeFileSync(log, '{"msg":"an old warning from create","level":"warning"}\n');
    const line = JSON.stringify({
      msg: "exec container process `/bin/not-an-elf`: Exec format error",
      level: "error",
    });
    const p = init(`echo '${line}' >> ${log}; exit 1`);
    await waitForExe(p.child.pid!);
    const pre = noteBeforeExec(p.child.pid!, log);
    p.release();
    expect(await execFailure(p.child.pid!, pre, p.exited)).toBe(
      "exec container process `/bin/not-an-elf`: Exec format error",
    );
  });

  it("answers undefined for a workload that ran and ended at once (no error in the log)", async () => {
    const log = join(dir, "init.log");
    const p = init("exit 0");
    await waitForExe(p.child.pid!);
    const pre = noteBeforeExec(p.child.pid!, log);
    p.release();
    expect(await execFailure(p.child.pid!, pre, p.exited)).toBeUndefined();
  });

  it("reads only the errors written after the offset, JSON or text", () => {
    const log = join(dir, "crun.log");
    writeFileSync(log, '{"msg":"before","level":"error"}\n');
    const offset = noteBeforeExec(process.pid, log).logOffset;
    appendFileSync(
      log,
      '{"msg":"a warning","level":"warning"}\n{"msg":"after","level":"error"}\nplain text\n',
    );
    expect(crunErrorsSince(log, offset)).toEqual(["after", "plain text"]);
  });
});
