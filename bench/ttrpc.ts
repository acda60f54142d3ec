/**
 * ttrpc unary round trips over a unix socket, tskata's TypeScript stack and containerd's Go ttrpc
 * side by side in one run: each server in its own process, 64-byte BytesValue payloads, with 1
 * and 64 concurrent callers. Prints p50/p99 latency, calls/s and the TS/Go ratios.
 *
 *   npm run bench:ttrpc [-- --seconds 5]     (builds, then runs dist/bench/ttrpc.js)
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { BytesValueSchema } from "@bufbuild/protobuf/wkt";
import { Client } from "../protocol/ttrpc/client.js";
import { buildGoTtrpcPeer } from "./peers/go-ttrpc.js";

const run = promisify(execFile);
const SVC = "tskata.interop.v1.Echo";
const secondsArg = process.argv.indexOf("--seconds");
const SECONDS = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 5;

interface Result {
  calls: number;
  seconds: number;
  callsPerSecond: number;
  p50us: number;
  p99us: number;
}

async function startServer(cmd: string, args: string[]): Promise<ChildProcess> {
  const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once("data", () => resolve());
    child.once("exit", (code) => reject(new Error(`${cmd} exited ${code}`)));
  });
  return child;
}

async function stopServer(child: ChildProcess): Promise<void> {
  child.stdin!.end();
  const killer = setTimeout(() => child.kill("SIGKILL"), 3000);
  if (child.exitCode === null) await new Promise((r) => child.once("exit", r));
  clearTimeout(killer);
}

async function benchTs(sock: string, concurrency: number): Promise<Result> {
  const s = connect(sock);
  await new Promise((r) => s.once("connect", r));
  const client = new Client(s);
  const payload = toBinary(BytesValueSchema, create(BytesValueSchema, { value: new Uint8Array(64) }));
  for (let i = 0; i < 2000; i++) await client.call(SVC, "Echo", payload); // warm-up (JIT)
  const lat: number[] = [];
  const start = performance.now();
  const end = start + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let t0 = performance.now(); t0 < end; t0 = performance.now()) {
        await client.call(SVC, "Echo", payload);
        lat.push((performance.now() - t0) * 1000);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  client.close();
  lat.sort((a, b) => a - b);
  const pct = (p: number) => lat[Math.floor(p * (lat.length - 1))]!;
  return {
    calls: lat.length,
    seconds,
    callsPerSecond: lat.length / seconds,
    p50us: pct(0.5),
    p99us: pct(0.99),
  };
}

async function benchGo(peer: string, sock: string, concurrency: number): Promise<Result> {
  // Warm-up run, then the measured one.
  await run(peer, ["bench", sock, String(concurrency), "1s"]);
  const { stdout } = await run(peer, ["bench", sock, String(concurrency), `${SECONDS}s`]);
  return JSON.parse(stdout) as Result;
}

const fmt = (n: number) => n.toFixed(1);

async function main(): Promise<void> {
  const peer = await buildGoTtrpcPeer();
  const dir = mkdtempSync(join(tmpdir(), "tskata-bench-ttrpc-"));
  const tsSock = join(dir, "ts.sock");
  const goSock = join(dir, "go.sock");
  // Runs compiled (npm run bench:ttrpc builds first), so the server is the same JS the shim runs.
  const tsServer = await startServer(process.execPath, [
    join(import.meta.dirname, "peers/ts-echo-server.js"),
    tsSock,
  ]);
  const goServer = await startServer(peer, ["serve", goSock]);
  try {
    console.log(`ttrpc unary Echo (64 B) over unix socket, ${SECONDS} s per run, node ${process.version}`);
    console.log("concurrency | stack | p50 µs | p99 µs | calls/s");
    const rows: string[] = [];
    for (const concurrency of [1, 64]) {
      const ts = await benchTs(tsSock, concurrency);
      const go = await benchGo(peer, goSock, concurrency);
      for (const [name, r] of [
        ["tskata (TS)", ts],
        ["Go ttrpc", go],
      ] as const) {
        console.log(
          `${concurrency} | ${name} | ${fmt(r.p50us)} | ${fmt(r.p99us)} | ${Math.round(r.callsPerSecond)}`,
        );
      }
      rows.push(
        `concurrency ${concurrency}: p50 ratio TS/Go = ${(ts.p50us / go.p50us).toFixed(2)} (goal ≤ 1.50), ` +
          `throughput ratio TS/Go = ${(ts.callsPerSecond / go.callsPerSecond).toFixed(2)}`,
      );
    }
    for (const r of rows) console.log(r);
  } finally {
    await stopServer(tsServer);
    await stopServer(goServer);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
