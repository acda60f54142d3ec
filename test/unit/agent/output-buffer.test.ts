import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { OutputBuffer } from "../../../agent/stdio/output-buffer.js";

class FakeSource extends EventEmitter {
  paused = false;
  destroyed = false;
  pause() {
    this.paused = true;
  }
  resume() {
    this.paused = false;
  }
  destroy() {
    this.destroyed = true;
    this.emit("close");
  }
}

describe("OutputBuffer", () => {
  it("hands out bytes in order, each once, across chunk boundaries", async () => {
    const b = new OutputBuffer(1 << 20);
    const src = new FakeSource();
    b.attach(src);
    src.emit("data", Buffer.from("abc"));
    src.emit("data", Buffer.from("defg"));
    expect((await b.read(2)).data.toString()).toBe("ab");
    expect((await b.read(4)).data.toString()).toBe("cdef");
    src.emit("end");
    expect(await b.read(10)).toEqual({ data: Buffer.from("g"), eof: true });
    expect(await b.read(10)).toEqual({ data: Buffer.alloc(0), eof: true });
  });

  it("a read waits for data (long-poll) and an aborted read returns empty without losing bytes", async () => {
    const b = new OutputBuffer();
    const src = new FakeSource();
    b.attach(src);
    const pending = b.read(100);
    src.emit("data", Buffer.from("late"));
    expect((await pending).data.toString()).toBe("late");
    const ac = new AbortController();
    const aborted = b.read(100, ac.signal);
    ac.abort();
    expect(await aborted).toEqual({ data: Buffer.alloc(0), eof: false });
    src.emit("data", Buffer.from("kept"));
    expect((await b.read(100)).data.toString()).toBe("kept");
  });

  it("pauses the source at the limit and resumes once a read drains below it", async () => {
    const b = new OutputBuffer(8);
    const src = new FakeSource();
    b.attach(src);
    src.emit("data", Buffer.alloc(5, 1));
    expect(src.paused).toBe(false);
    src.emit("data", Buffer.alloc(5, 2));
    expect(src.paused).toBe(true);
    expect(b.bufferedBytes).toBe(10);
    await b.read(1);
    expect(src.paused).toBe(true);
    await b.read(4);
    expect(src.paused).toBe(false);
    expect((await b.read(100)).data).toEqual(Buffer.alloc(5, 2));
  });

  it("a source error counts as the end (EIO from a pty master); whenEnded resolves", async () => {
    const b = new OutputBuffer();
    const src = new FakeSource();
    b.attach(src);
    const ended = b.whenEnded();
    src.emit("data", Buffer.from("x"));
    src.emit("error", new Error("read EIO"));
    await ended;
    expect(await b.read(10)).toEqual({ data: Buffer.from("x"), eof: true });
  });
});
