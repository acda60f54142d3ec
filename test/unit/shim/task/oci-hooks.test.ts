import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hostHooksOf, runHooks } from "../../../../shim/task/oci-hooks.js";

const dir = mkdtempSync(join(tmpdir(), "tskata-hooks-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const state = {
  ociVersion: "1.0.2",
  id: "c1",
  status: "creating" as const,
  pid: 42,
  bundle: "/b",
  annotations: { a: "b" },
};

describe("OCI hooks on the host", () => {
  it("keeps host kinds, leaves guest kinds to crun, refuses unknown kinds by name", () => {
    const hooks = hostHooksOf(
      { prestart: [{ path: "/bin/true" }], startContainer: [{ path: "/bin/true" }] },
      "c1",
    );
    expect(hooks.prestart).toHaveLength(1);
    expect(hooks.poststop).toEqual([]);
    expect(() => hostHooksOf({ preStart: [] }, "c1")).toThrow(/hooks.preStart is not a hook kind/);
    expect(() => hostHooksOf({ poststop: [{ path: "rel" }] }, "c1")).toThrow(/hooks.poststop\[0\]: path/);
  });

  it("runs a hook with the state on stdin and its own environment", async () => {
    const out = join(dir, "state.json");
    await runHooks(
      "prestart",
      [
        {
          path: "/bin/sh",
          args: ["sh", "-c", `cat > ${out}; echo >> ${out}; echo "$X" >> ${out}`],
          env: ["X=from-env"],
        },
      ],
      state,
    );
    const [json, env] = readFileSync(out, "utf8").split("\n");
    expect(JSON.parse(json!)).toEqual(state);
    expect(env).toBe("from-env");
  });

  it("fails with the hook named: a non-zero exit with its stderr, and a timeout", async () => {
    await expect(
      runHooks("createRuntime", [{ path: "/bin/sh", args: ["sh", "-c", "echo no >&2; exit 3"] }], state),
    ).rejects.toThrow(/createRuntime hook 0 \(\/bin\/sh\): exited with 3: no/);
    await expect(
      runHooks("prestart", [{ path: "/bin/sleep", args: ["sleep", "10"], timeout: 1 }], state),
    ).rejects.toThrow(/prestart hook 0 \(\/bin\/sleep\): timed out after 1 s/);
  });
});
