/**
 * Bridges one process's stdio between containerd's side (FIFOs, files, a logging binary) and the
 * agent's long-poll stdio API. Output is pumped until the agent reports EOF and the sink has
 * taken every byte (`outputDone`); stdin is forwarded in order and closed in the guest once the
 * client's FIFO ends (after CloseIO released it).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { AgentApi } from "../agent-client/agent-client.js";
import { type InputFifo, openInput, openOutput } from "../io/fifo.js";
import { parseStdioUri, type StdioTarget } from "../io/stdio-uri.js";

export interface ProcessIo {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

export interface ProcessRef {
  containerId: string;
  /** Empty for the init process. */
  execId: string;
}

/** Answers of ReadStdout are capped by the agent; ask for up to 1 MiB per call. */
const READ_BYTES = 1 << 20;

interface Sinks {
  stdout: Writable | undefined;
  stderr: Writable | undefined;
  logger: ChildProcess | undefined;
}

/** Validates the three stdio fields before anything is opened (bad input changes nothing). */
export function parseProcessIo(io: ProcessIo): {
  stdin: StdioTarget;
  stdout: StdioTarget;
  stderr: StdioTarget;
} {
  return {
    stdin: parseStdioUri(io.stdin, "stdin"),
    stdout: parseStdioUri(io.stdout, "stdout"),
    stderr: io.terminal ? { kind: "none" } : parseStdioUri(io.stderr, "stderr"),
  };
}

async function openSinks(
  targets: ReturnType<typeof parseProcessIo>,
  ref: ProcessRef,
  namespace: string,
): Promise<Sinks> {
  const { stdout, stderr } = targets;
  if (stdout.kind === "binary" || stderr.kind === "binary") {
    const bin = stdout.kind === "binary" ? stdout : (stderr as Extract<StdioTarget, { kind: "binary" }>);
    const logger = spawn(bin.path, bin.args, {
      stdio: ["ignore", "ignore", "ignore", "pipe", "pipe", "pipe"],
      env: { ...process.env, CONTAINER_ID: ref.containerId, CONTAINER_NAMESPACE: namespace },
    });
    const ready = (logger.stdio as unknown as Readable[])[5]!;
    ready.resume();
    await Promise.race([
      once(ready, "end"),
      once(logger, "exit").then(([code]) => {
        throw new Error(`logging binary ${bin.path} exited with ${code} before it was ready`);
      }),
      once(logger, "error").then(([err]) => {
        throw new Error(`logging binary ${bin.path}: ${(err as Error).message}`);
      }),
    ]);
    return { stdout: logger.stdio[3] as Writable, stderr: logger.stdio[4] as Writable, logger };
  }
  if (stdout.kind === "file") {
    const file = createWriteStream(stdout.path, { flags: "a" });
    return { stdout: file, stderr: stderr.kind === "none" ? undefined : file, logger: undefined };
  }
  const open = (t: StdioTarget) => (t.kind === "path" ? openOutput(t.path) : undefined);
  return { stdout: open(stdout), stderr: open(stderr), logger: undefined };
}

export class IoBridge {
  readonly outputDone: Promise<void>;
  private stdin: InputFifo | undefined;
  private disposed = false;

  private constructor(
    private readonly agent: AgentApi,
    private readonly ref: ProcessRef,
    private readonly sinks: Sinks,
    terminal: boolean,
    stdinTarget: StdioTarget,
    private readonly log: Logger,
  ) {
    const pumps = [this.pumpOut("stdout", sinks.stdout)];
    if (!terminal) pumps.push(this.pumpOut("stderr", sinks.stderr));
    this.outputDone = Promise.all(pumps).then(() => this.endSinks());
    if (stdinTarget.kind === "path") {
      this.stdin = openInput(stdinTarget.path);
      void this.pumpIn(this.stdin.stream);
    }
  }

  /** Opens the process's stdio and starts pumping. Throws (and opens nothing) on bad targets. */
  static async open(
    agent: AgentApi,
    ref: ProcessRef,
    io: ProcessIo,
    namespace: string,
    log: Logger,
  ): Promise<IoBridge> {
    const targets = parseProcessIo(io);
    const sinks = await openSinks(targets, ref, namespace);
    return new IoBridge(agent, ref, sinks, io.terminal, targets.stdin, log);
  }

  /** Whether the process was given a stdin stream by containerd. */
  get hasStdin(): boolean {
    return this.stdin !== undefined;
  }

  /** CloseIO: the client is done writing; the guest's stdin closes once what it wrote is through. */
  closeStdin(): void {
    this.stdin?.release();
  }

  /** Stops forwarding stdin (the process is gone). Output pumps end by themselves at EOF. */
  dispose(): void {
    this.disposed = true;
    this.stdin?.release();
    this.stdin?.stream.destroy();
    this.sinks.logger?.kill("SIGTERM");
  }

  private async pumpOut(which: "stdout" | "stderr", sink: Writable | undefined): Promise<void> {
    let sinkBroken = sink === undefined;
    sink?.on("error", (err) => {
      if (!sinkBroken) this.log.warn({ err, which, ...this.ref }, "stdio reader went away: output discarded");
      sinkBroken = true;
    });
    const req = { containerId: this.ref.containerId, execId: this.ref.execId, maxBytes: READ_BYTES };
    let idleMs = 0;
    for (;;) {
      let chunk: { data: Uint8Array; eof: boolean };
      try {
        chunk = which === "stdout" ? await this.agent.readStdout(req) : await this.agent.readStderr(req);
      } catch (err) {
        this.log.warn({ err, which, ...this.ref }, "reading process output from the agent failed");
        return;
      }
      if (chunk.data.length > 0 && !sinkBroken && sink) {
        if (!sink.write(chunk.data)) {
          await Promise.race([once(sink, "drain"), once(sink, "close"), once(sink, "error")]).catch(() => {});
        }
      }
      if (chunk.eof) return;
      // The agent long-polls: an empty answer that is not EOF only comes from a misbehaving
      // guest. Back off instead of spinning on it.
      idleMs = chunk.data.length === 0 ? Math.min(Math.max(idleMs * 2, 10), 1000) : 0;
      if (idleMs > 0) await sleep(idleMs);
    }
  }

  private async endSinks(): Promise<void> {
    const ends = new Set(
      [this.sinks.stdout, this.sinks.stderr].filter((s): s is Writable => s !== undefined),
    );
    await Promise.all(
      [...ends].map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.destroyed || s.writableFinished) return resolve();
            s.once("error", () => resolve());
            s.end(() => resolve());
          }),
      ),
    );
  }

  private async pumpIn(stream: Readable): Promise<void> {
    const req = { containerId: this.ref.containerId, execId: this.ref.execId };
    try {
      for await (const chunk of stream) {
        let data = chunk as Buffer;
        while (data.length > 0) {
          const { written } = await this.agent.writeStdin({ ...req, data });
          data = data.subarray(written > 0 ? written : data.length);
        }
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ERR_STREAM_PREMATURE_CLOSE") {
        this.log.warn({ err, ...this.ref }, "forwarding stdin failed");
      }
    }
    this.log.debug({ ...this.ref, disposed: this.disposed }, "stdin reached EOF");
    if (this.disposed) return;
    await this.agent.closeStdin(req).catch((err: unknown) => {
      this.log.debug({ err, ...this.ref }, "closing the process's stdin failed");
    });
  }
}
