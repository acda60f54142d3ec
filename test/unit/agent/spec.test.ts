import { describe, expect, it } from "vitest";
import { guestSpec } from "../../../agent/container/bundle.js";
import { ContainerError } from "../../../agent/container/errors.js";
import { WIRE_CODES } from "../../../agent/rpc/error-codes.js";
import { resolveSharedRootfs } from "../../../agent/spec/rootfs-path.js";
import type { OciSpec } from "../../../agent/spec/types.js";
import { parseProcess, parseSpec } from "../../../agent/spec/validate.js";
import { Code } from "../../../protocol/ttrpc/codes.js";
import { baseSpec } from "../../fixtures/agent-vm.js";

type Spec = ReturnType<typeof baseSpec>;
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

function specError(edit: (s: ReturnType<typeof baseSpec>) => void): string {
  const s = baseSpec(["true"]);
  edit(s);
  try {
    parseSpec(json(s));
  } catch (err) {
    expect(err).toBeInstanceOf(ContainerError);
    expect((err as ContainerError).code).toBe("ERR_SPEC_INVALID");
    return (err as Error).message;
  }
  throw new Error("spec was accepted");
}

describe("runtime-spec validation", () => {
  it("accepts containerd's default shape", () => {
    expect(parseSpec(json(baseSpec(["sh"]))).process.args).toEqual(["sh"]);
  });

  it.each([
    [
      "a uid that is not a number",
      (s: Spec) => (s.process.user.uid = "root"),
      /process\.user\.uid: must be integer/,
    ],
    ["empty args", (s: Spec) => (s.process.args = []), /process\.args: must NOT have fewer than 1 items/],
    ["relative cwd", (s: Spec) => (s.process.cwd = "tmp"), /process\.cwd: must match pattern/],
    [
      "host hooks (the shim runs them)",
      (s: Spec) => (s.hooks = { prestart: [{ path: "/bin/true" }] }),
      /hooks: unknown field "prestart" is not accepted/,
    ],
    [
      "an unknown namespace",
      (s: Spec) => s.linux.namespaces.push({ type: "bogus" }),
      /linux\.namespaces\[5\]\.type: must be one of/,
    ],
    [
      "a bad capability name",
      (s: Spec) => (s.process.capabilities.bounding = ["KILL"]),
      /process\.capabilities\.bounding\[0\]/,
    ],
    [
      "oomScoreAdj out of range",
      (s: Spec) => (s.process.oomScoreAdj = 2000),
      /process\.oomScoreAdj: must be <= 1000/,
    ],
    [
      "a relative mount destination",
      (s: Spec) => (s.mounts[0].destination = "proc"),
      /mounts\[0\]\.destination/,
    ],
    ["a missing ociVersion", (s: Spec) => delete s.ociVersion, /must have required property 'ociVersion'/],
  ])("refuses %s, naming the field", (_name, edit, message) => {
    expect(specError(edit)).toMatch(message);
  });

  it("refuses text that is not JSON", () => {
    expect(() => parseSpec(Buffer.from("{"))).toThrow(/oci spec is not valid JSON/);
    expect(() => parseProcess(Buffer.from("[]"))).toThrow(/invalid oci process: \(root\): must be object/);
  });
});

describe("rootfs on the shared directory", () => {
  const real = (p: string) => p.replace("/share/link", "/elsewhere");
  it("resolves a relative directory", () => {
    expect(resolveSharedRootfs("/share", "c1/rootfs", (p) => p)).toBe("/share/c1/rootfs");
  });
  it.each([
    ["../etc", /escapes the shared directory/],
    ["c1/../../etc", /escapes the shared directory/],
    ["/etc", /must be relative/],
    ["", /is empty/],
    [".", /escapes the shared directory/],
    ["link/rootfs", /resolves \(through a symlink\) outside/],
  ])("refuses %j", (dir, message) => {
    expect(() => resolveSharedRootfs("/share", dir, real)).toThrow(message);
  });
});

describe("guest spec rewrite", () => {
  it("points root at the bundle, cgroups under /tskata, network at the pod's namespace", () => {
    const spec = baseSpec(["true"]) as OciSpec;
    const out = guestSpec(
      {
        id: "c1",
        spec,
        rootfs: { kind: "shared", path: "/x" },
        readonly: true,
        terminal: true,
        storages: [],
        netns: "/run/ns",
      },
      "/run/tskata/containers/c1/rootfs",
    );
    expect(out.root).toEqual({ path: "/run/tskata/containers/c1/rootfs", readonly: true });
    expect(out.process.terminal).toBe(true);
    expect(out.linux?.cgroupsPath).toBe("/tskata/c1");
    expect(out.linux?.namespaces?.find((n) => n.type === "network")).toEqual({
      type: "network",
      path: "/run/ns",
    });
    expect(spec.root.path).toBe("rootfs"); // the input is not modified
  });
});

describe("error codes on the wire", () => {
  it("maps the acceptance cases", () => {
    expect(WIRE_CODES.ERR_CONTAINER_NOT_FOUND).toBe(Code.NOT_FOUND);
    expect(WIRE_CODES.ERR_CONTAINER_EXISTS).toBe(Code.ALREADY_EXISTS);
    expect(WIRE_CODES.ERR_SPEC_INVALID).toBe(Code.INVALID_ARGUMENT);
    expect(WIRE_CODES.ERR_ROOTFS_ESCAPE).toBe(Code.INVALID_ARGUMENT);
    expect(WIRE_CODES.ERR_SIGNAL_INVALID).toBe(Code.INVALID_ARGUMENT);
    expect(WIRE_CODES.ERR_WRONG_STATE).toBe(Code.FAILED_PRECONDITION);
  });
});
