import { execFileSync } from "node:child_process";
import {
  closeSync,
  constants,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isFifo, openInput, openOutput } from "../../../../shim/io/fifo.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tskata-fifo-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function mkfifo(name: string): string {
  const p = join(dir, name);
  execFileSync("mkfifo", [p]);
  return p;
}

const collect = (s: NodeJS.ReadableStream) =>
  new Promise<string>((resolve) => {
    let out = "";
    s.on("data", (d: Buffer) => {
      out += d.toString();
    });
    s.on("end", () => resolve(out));
  });

describe("stdio FIFOs", () => {
  it("opens an output FIFO whose reader is already there without blocking, and the reader gets every byte", async () => {
    const p = mkfifo("out");
    expect(isFifo(p)).toBe(true);
    const reader = new Socket({
      fd: openSync(p, constants.O_RDONLY | constants.O_NONBLOCK),
      writable: false,
    });
    const got = collect(reader);
    const w = openOutput(p);
    const big = "x".repeat(300_000);
    w.write("hello ");
    w.end(big);
    expect(await got).toBe(`hello ${big}`);
  });

  it("appends output to a regular file", async () => {
    const p = join(dir, "log");
    writeFileSync(p, "old\n");
    const w = openOutput(p);
    await new Promise<void>((r) => w.end("new\n", () => r()));
    expect(readFileSync(p, "utf8")).toBe("old\nnew\n");
  });

  it("waits for the client's writer, then ends when the client closes it, every byte through", async () => {
    const p = mkfifo("in");
    const input = openInput(p);
    const got = collect(input.stream);
    let ended = false;
    input.stream.on("end", () => {
      ended = true;
    });
    // No writer yet: a plain non-blocking reader would see EOF here; ours must not.
    await new Promise((r) => setTimeout(r, 50));
    expect(ended).toBe(false);
    const client = openSync(p, constants.O_WRONLY);
    writeSync(client, "line 1\nline 2\n");
    closeSync(client);
    expect(await got).toBe("line 1\nline 2\n");
  });

  it("ends at once when released before any client opened the FIFO", async () => {
    const input = openInput(mkfifo("in2"));
    const got = collect(input.stream);
    input.release();
    expect(await got).toBe("");
  });

  it("still unblocks when the client removed the FIFO without ever opening it", async () => {
    const p = mkfifo("in4");
    const input = openInput(p);
    const got = collect(input.stream);
    rmSync(p);
    input.release();
    expect(await got).toBe("");
  });

  it("ends after a grace when released while the client keeps its writer open", async () => {
    const p = mkfifo("in3");
    const input = openInput(p);
    const got = collect(input.stream);
    const client = openSync(p, constants.O_WRONLY);
    writeSync(client, "before close-io\n");
    await new Promise((r) => setTimeout(r, 20));
    input.release();
    expect(await got).toBe("before close-io\n");
    closeSync(client);
  });

  it("refuses stdin that is not a FIFO", () => {
    const p = join(dir, "file");
    writeFileSync(p, "");
    expect(() => openInput(p)).toThrow(`stdin ${p} is not a FIFO`);
  });
});
