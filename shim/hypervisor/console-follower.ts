/**
 * Follows the guest console log QEMU writes (ttyS0 → file) and hands each complete line to a
 * callback, so guest output (kernel, init, agent logs) lands in the shim's log as it happens.
 * The file itself is removed with the sandbox directory; `stop()` drains what is left first.
 */
import { type FSWatcher, watch } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";

// ANSI escape sequences (SeaBIOS clears the screen) and carriage returns are not log content.
const NOISE = /\x1b\[[0-9;?]*[A-Za-z]|\x1bc|\r/g;

export class ConsoleFollower {
  private handle: FileHandle | undefined;
  private watcher: FSWatcher | undefined;
  private offset = 0;
  private partial = "";
  private reading: Promise<void> = Promise.resolve();
  private stopped = false;
  private opened: Promise<void> | undefined;

  constructor(
    readonly path: string,
    private readonly onLine: (line: string) => void,
  ) {}

  start(): Promise<void> {
    this.opened ??= this.open();
    return this.opened;
  }

  private async open(): Promise<void> {
    this.handle = await open(this.path, "r");
    this.watcher = watch(this.path, () => this.schedule());
    this.watcher.on("error", () => {});
    this.schedule();
  }

  /** Reads what is left, emits a final unterminated line, and stops following. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    await this.opened?.catch(() => {});
    this.watcher?.close();
    this.schedule();
    await this.reading;
    this.stopped = true;
    if (this.partial.trim() !== "") this.onLine(this.partial.replace(NOISE, ""));
    this.partial = "";
    await this.handle?.close();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.reading = this.reading.then(() => this.drain()).catch(() => {});
  }

  private async drain(): Promise<void> {
    const handle = this.handle;
    if (!handle) return;
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, this.offset);
      if (bytesRead === 0) return;
      this.offset += bytesRead;
      const lines = (this.partial + buf.subarray(0, bytesRead).toString("utf8")).split("\n");
      this.partial = lines.pop() ?? "";
      for (const line of lines) {
        const clean = line.replace(NOISE, "");
        if (clean.trim() !== "") this.onLine(clean);
      }
    }
  }
}
