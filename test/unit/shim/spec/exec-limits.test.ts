/**
 * A process Linux's execve would refuse (E2BIG) is refused at Create/Exec with the reason, instead
 * of a container that exits 1 in the guest with no reason anywhere (issue 9, item 6).
 */
import { describe, expect, it } from "vitest";
import { checkExecLimits, MAX_ARG_STRLEN } from "../../../../shim/spec/exec-limits.js";
import { guestSpec } from "../../../../shim/spec/guest-spec.js";

const PATH = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";

describe("execve limits checked on the host", () => {
  it("accepts an ordinary process, and one string at exactly the per-string limit", () => {
    expect(() => checkExecLimits({ args: ["sh", "-c", "true"], env: [PATH] }, "container c")).not.toThrow();
    const atLimit = `A=${"x".repeat(MAX_ARG_STRLEN - 3)}`; // + NUL = MAX_ARG_STRLEN
    expect(() => checkExecLimits({ args: ["true"], env: [atLimit] }, "container c")).not.toThrow();
  });

  it("refuses an environment variable over MAX_ARG_STRLEN, naming it", () => {
    const big = `BIG=${"x".repeat(200_000)}`;
    expect(() => checkExecLimits({ args: ["true"], env: [PATH, big] }, "container c")).toThrow(
      expect.objectContaining({
        code: "TASK_INVALID",
        message: expect.stringMatching(
          /container c: environment variable "BIG" \(process.env\[1\]\) is 200005 bytes.*MAX_ARG_STRLEN/,
        ),
      }),
    );
  });

  it("refuses an argument over MAX_ARG_STRLEN", () => {
    expect(() => checkExecLimits({ args: ["echo", "y".repeat(MAX_ARG_STRLEN)] }, "exec e1")).toThrow(
      /exec e1: process.args\[1\] is 131073 bytes/,
    );
  });

  it("refuses arguments and environment over a quarter of the stack limit, and honours a larger RLIMIT_STACK", () => {
    const env = Array.from({ length: 40 }, (_, i) => `V${i}=${"z".repeat(60_000)}`); // ~2.4 MB
    expect(() => checkExecLimits({ args: ["true"], env }, "container c")).toThrow(
      /take \d+ bytes; Linux's execve takes at most 2097152/,
    );
    const rlimits = [{ type: "RLIMIT_STACK", soft: 16 * 1024 * 1024, hard: 16 * 1024 * 1024 }];
    expect(() => checkExecLimits({ args: ["true"], env, rlimits }, "container c")).not.toThrow();
  });

  it("is applied to the container's spec when it is rewritten for the guest", () => {
    const spec = { process: { args: ["true"], env: [`BIG=${"x".repeat(200_000)}`] } };
    expect(() => guestSpec(spec, "c9")).toThrow(/container c9: environment variable "BIG"/);
  });
});
