import { describe, expect, it } from "vitest";
import { parseStdioUri } from "../../../../shim/io/stdio-uri.js";

describe("stdio URIs", () => {
  it("reads an empty field as unused and a plain path as a FIFO or file", () => {
    expect(parseStdioUri("", "stdin")).toEqual({ kind: "none" });
    expect(parseStdioUri("/run/containerd/fifo/1/c1-stdout", "stdout")).toEqual({
      kind: "path",
      path: "/run/containerd/fifo/1/c1-stdout",
    });
  });

  it("parses file:// and binary:// with containerd's -k v argument convention", () => {
    expect(parseStdioUri("file:///var/log/c1.log", "stdout")).toEqual({
      kind: "file",
      path: "/var/log/c1.log",
    });
    expect(parseStdioUri("binary:///usr/bin/logger?id=c1&debug=", "stderr")).toEqual({
      kind: "binary",
      path: "/usr/bin/logger",
      args: ["-id", "c1", "-debug"],
    });
    expect(parseStdioUri("file:///a%20b", "stdout")).toEqual({ kind: "file", path: "/a b" });
  });

  it("names the stream and the problem for bad values", () => {
    expect(() => parseStdioUri("tcp://1.2.3.4:5", "stdout")).toThrow("stdout: unknown STDIO scheme tcp");
    expect(() => parseStdioUri("relative/path", "stderr")).toThrow(
      'stderr: path "relative/path" is not absolute',
    );
    expect(() => parseStdioUri("file://host/x", "stdout")).toThrow("needs an absolute path");
    expect(() => parseStdioUri("file:///x", "stdin")).toThrow("stdin: file:// is for output streams only");
  });
});
