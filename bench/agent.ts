/**
 * The agent's container path inside one booted guest (build/guest, TCG on this machine):
 *   - CreateContainer+StartContainer to the exit of `true` (WaitProcess), p50/p90 over N runs
 *   - exec round trip of `true` in a running container (ExecProcess → WaitProcess)
 *   - stdout throughput of a container writing 64 MiB, read by ReadStdout long-polls, beside the
 *     same bytes through a pipe that stays in the guest (what TCG allows at all)
 *
 *   npm run bench:agent [-- --runs 20]
 */

import { rmSync } from "node:fs";
import { baseSpec, bootAgentVm, makeBusyboxRootfs, readAll, specBytes } from "../test/fixtures/agent-vm.js";

const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 20;
const STDOUT_BYTES = 64 << 20;

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function main(): Promise<void> {
  const avm = await bootAgentVm("bench");
  const { agent } = avm;
  try {
    const rootfs = makeBusyboxRootfs(avm.vm.sharedDir, "busybox");
    const opts = { timeoutMs: 120_000 };
    const create = (id: string, args: string[]) =>
      agent.createContainer(
        {
          containerId: id,
          ociSpecJson: specBytes(baseSpec(args)),
          rootfs: { source: { case: "sharedDir", value: rootfs } },
        },
        opts,
      );

    // warm-up (first spec validation compiles the schema; first crun run pages it in)
    await create("warm", ["true"]);
    await agent.startContainer({ containerId: "warm" }, opts);
    await agent.waitProcess({ containerId: "warm" }, opts);
    await agent.removeContainer({ containerId: "warm" }, opts);

    const lifecycle: number[] = [];
    const removeMs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const id = `t${i}`;
      const t0 = performance.now();
      await create(id, ["true"]);
      await agent.startContainer({ containerId: id }, opts);
      await agent.waitProcess({ containerId: id }, opts);
      lifecycle.push(performance.now() - t0);
      const t1 = performance.now();
      await agent.removeContainer({ containerId: id }, opts);
      removeMs.push(performance.now() - t1);
    }

    await create("host", ["sleep", "600"]);
    await agent.startContainer({ containerId: "host" }, opts);
    const execMs: number[] = [];
    const processJson = specBytes(baseSpec(["true"]).process);
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      await agent.execProcess({ containerId: "host", execId: `e${i}`, processJson }, opts);
      await agent.waitProcess({ containerId: "host", execId: `e${i}` }, opts);
      execMs.push(performance.now() - t0);
    }
    await agent.removeContainer({ containerId: "host" }, opts);

    await create("writer", ["head", "-c", String(STDOUT_BYTES), "/dev/zero"]);
    const t0 = performance.now();
    await agent.startContainer({ containerId: "writer" }, opts);
    const out = await readAll(agent, "writer", "", "stdout");
    const seconds = (performance.now() - t0) / 1000;
    await agent.waitProcess({ containerId: "writer" }, opts);
    await agent.removeContainer({ containerId: "writer" }, opts);
    if (out.length !== STDOUT_BYTES)
      throw new Error(`stdout: got ${out.length} bytes, wanted ${STDOUT_BYTES}`);

    // peer: the same 64 MiB through a pipe that never leaves the guest (head | wc -c in a container)
    await create("peer", ["sh", "-c", `head -c ${STDOUT_BYTES} /dev/zero | wc -c`]);
    const p0 = performance.now();
    await agent.startContainer({ containerId: "peer" }, opts);
    const peerOut = (await readAll(agent, "peer", "", "stdout")).toString().trim();
    const peerSeconds = (performance.now() - p0) / 1000;
    await agent.waitProcess({ containerId: "peer" }, opts);
    await agent.removeContainer({ containerId: "peer" }, opts);
    if (peerOut !== String(STDOUT_BYTES)) throw new Error(`peer pipe counted ${peerOut}`);

    const f = (n: number) => n.toFixed(0);
    console.log(`guest boot to Health.Check: ${f(avm.bootMs)} ms (TCG)`);
    console.log(
      `create+start → exit of true: p50 ${f(pct(lifecycle, 50))} ms, p90 ${f(pct(lifecycle, 90))} ms (n=${RUNS}); remove p50 ${f(pct(removeMs, 50))} ms`,
    );
    console.log(
      `exec round trip of true: p50 ${f(pct(execMs, 50))} ms, p90 ${f(pct(execMs, 90))} ms (n=${RUNS})`,
    );
    const mibs = STDOUT_BYTES / 1048576 / seconds;
    const peerMibs = STDOUT_BYTES / 1048576 / peerSeconds;
    console.log(
      `stdout throughput to the host: ${mibs.toFixed(1)} MiB/s (64 MiB in ${seconds.toFixed(2)} s)`,
    );
    console.log(
      `peer, in-guest pipe (head | wc -c): ${peerMibs.toFixed(1)} MiB/s; agent/peer ${(mibs / peerMibs).toFixed(2)}`,
    );
  } finally {
    await avm.stop();
    rmSync(avm.stateDir, { recursive: true, force: true });
  }
}

await main();
