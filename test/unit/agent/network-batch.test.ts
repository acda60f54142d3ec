/**
 * The guest network's command batches: one `sh -c` script runs every command in order, hands back
 * each one's stdout, stops at the first failure and names that command. Run here with the host's
 * sh (the guest runs the same script with busybox sh inside `nsenter --net`).
 */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { batchScript, shellWord, splitBatchOutput } from "../../../agent/network/ip-command.js";

function run(commands: string[][]): { code: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync("/bin/sh", ["-c", batchScript(commands)], {
      encoding: "utf8",
      stdio: "pipe",
    });
    return { code: 0, stdout, stderr: "" };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { code: e.status, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("guest network command batches", () => {
  it("quote any argument as one shell word, quotes and spaces included", () => {
    const odd = ["a b", "it's", "$(touch /nonexistent)", "`x`", ""];
    const r = run([["/usr/bin/printf", "%s|", ...odd]]);
    expect(r.code).toBe(0);
    expect(splitBatchOutput(r.stdout, 1)).toEqual([`${odd.join("|")}|`]);
    expect(shellWord("it's")).toBe(`'it'\\''s'`);
  });

  it("hand back each command's stdout in order, empty outputs included", () => {
    const r = run([["/bin/echo", "one"], ["/bin/true"], ["/usr/bin/printf", "two\\nlines\\n"]]);
    expect(r.code).toBe(0);
    expect(splitBatchOutput(r.stdout, 3)).toEqual(["one\n", "", "two\nlines\n"]);
  });

  it("stop at the first failing command and say which one it was", () => {
    const r = run([
      ["/bin/echo", "ran"],
      ["/bin/sh", "-c", "echo boom >&2; exit 3"],
      ["/bin/echo", "never"],
    ]);
    expect(r.code).toBe(97);
    expect(r.stdout).not.toContain("never");
    expect(r.stderr).toMatch(/boom\n@@tskata-batch-failed@@1\n/);
  });
});
