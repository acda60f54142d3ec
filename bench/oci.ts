/**
 * `docker run --rm --network none IMAGE true` through a private Docker 20.10, runc and tskata
 * (`--runtime tskata`, the runc-compatible `tskata-runtime`) side by side, median of N each, and
 * the ratio.
 *
 *   npm run bench:oci [-- --runs 5]
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../shim/config/paths.js";
import { buildDockerArchive, startDockerd } from "../test/support/private-dockerd.js";
import { median } from "./peers/boot-floor.js";

const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
const IMAGE = "localhost/busybox:latest";

async function main(): Promise<void> {
  const repo = packageRoot();
  if (!repo) throw new Error("cannot find the tskata package root");
  execFileSync(join(repo, "node_modules/.bin/tsc"), ["-p", "tsconfig.build.json"], { cwd: repo });
  const work = mkdtempSync(join(tmpdir(), "tskata-bench-oci-"));
  const docker = await startDockerd({ tskata: join(repo, "dist/cli/runtime/main.js") });
  try {
    await docker.docker(["load", "-i", buildDockerArchive(join(work, "image.tar"), IMAGE)]);
    const timed = async (runtime: string) => {
      const t0 = performance.now();
      const r = await docker.docker(
        ["run", "--rm", "--runtime", runtime, "--network", "none", IMAGE, "true"],
        {
          timeoutMs: 300_000,
        },
      );
      if (r.code !== 0) throw new Error(`docker run --runtime ${runtime}: exit ${r.code}: ${r.stderr}`);
      return performance.now() - t0;
    };
    const runc: number[] = [];
    const tskata: number[] = [];
    await timed("runc"); // warm-up: image layers, dockerd's caches
    for (let i = 0; i < RUNS; i++) {
      runc.push(await timed("runc"));
      tskata.push(await timed("tskata"));
    }
    const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(" ");
    console.log(`docker run --rm --network none ${IMAGE} true, ${RUNS} runs each (ms)`);
    console.log(`runc    median ${median(runc).toFixed(0)}  [${fmt(runc)}]`);
    console.log(`tskata  median ${median(tskata).toFixed(0)}  [${fmt(tskata)}]`);
    console.log(`ratio tskata/runc ${(median(tskata) / median(runc)).toFixed(1)}x`);
  } finally {
    await docker.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
