/**
 * QMP framing: the monitor writes one JSON object per line ("\r\n" terminated). Chunks from the
 * socket can split a line or a multi-byte character, or hold several lines; this turns them into
 * whole parsed objects. A line that is not a JSON object is a protocol error for the caller.
 */
import { StringDecoder } from "node:string_decoder";

export type QmpMessage = Record<string, unknown>;

export type DecodeResult = { ok: true; message: QmpMessage } | { ok: false; line: string; error: string };

export class QmpDecoder {
  private readonly text = new StringDecoder("utf8");
  private pending = "";

  /** Feeds a chunk; returns every complete line it finished, in order. */
  push(chunk: Buffer): DecodeResult[] {
    this.pending += this.text.write(chunk);
    const out: DecodeResult[] = [];
    let nl = this.pending.indexOf("\n");
    while (nl !== -1) {
      const line = this.pending.slice(0, nl).trim();
      this.pending = this.pending.slice(nl + 1);
      if (line !== "") out.push(parseLine(line));
      nl = this.pending.indexOf("\n");
    }
    return out;
  }

  /** Bytes of an unfinished line still buffered (for diagnostics). */
  get buffered(): number {
    return this.pending.length;
  }
}

function parseLine(line: string): DecodeResult {
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      return { ok: true, message: value as QmpMessage };
    }
    return { ok: false, line, error: "not a JSON object" };
  } catch (err) {
    return { ok: false, line, error: (err as Error).message };
  }
}
