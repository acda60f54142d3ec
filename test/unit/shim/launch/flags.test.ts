import { describe, expect, it } from "vitest";
import { parseShimFlags } from "../../../../shim/launch/flags.js";

describe("shim launch flags", () => {
  it("parses containerd 1.6's start command line", () => {
    expect(
      parseShimFlags([
        "-namespace",
        "k8s.io",
        "-address",
        "/run/containerd/containerd.sock",
        "-publish-binary",
        "/usr/bin/containerd",
        "-id",
        "abc",
        "-debug",
        "start",
      ]),
    ).toEqual({
      action: "start",
      namespace: "k8s.io",
      address: "/run/containerd/containerd.sock",
      publishBinary: "/usr/bin/containerd",
      id: "abc",
      bundle: "",
      socket: "",
      debug: true,
    });
  });

  it("accepts -flag=value and --flag forms, and no action as serve", () => {
    const f = parseShimFlags(["--namespace=default", "-id=c1", "-bundle", "/b", "-debug=false"]);
    expect(f).toMatchObject({ action: "serve", namespace: "default", id: "c1", bundle: "/b", debug: false });
  });

  it("parses delete with its bundle", () => {
    expect(parseShimFlags(["-namespace", "n", "-id", "c", "-bundle", "/run/b", "delete"])).toMatchObject({
      action: "delete",
      bundle: "/run/b",
    });
  });

  it("names the bad flag or action", () => {
    expect(() => parseShimFlags(["-namespace", "n", "-id", "c", "-bogus", "x"])).toThrow(
      "unknown flag -bogus",
    );
    expect(() => parseShimFlags(["-namespace", "n", "-id"])).toThrow("flag -id needs a value");
    expect(() => parseShimFlags(["-namespace", "n", "-id", "c", "stop"])).toThrow('unknown action "stop"');
    expect(() => parseShimFlags(["-id", "c", "start"])).toThrow("flag -namespace is required");
    expect(() => parseShimFlags(["-namespace", "n", "start"])).toThrow("flag -id is required");
    expect(() => parseShimFlags(["-namespace", "n", "-id", "c", "-debug=maybe"])).toThrow(
      "not a boolean: maybe",
    );
  });
});
