/**
 * A private containerd that runs tasks with io.containerd.tskata.v2: the built shim on its PATH,
 * the locally built busybox image imported. Used by the demo, the e2e suites and bench:ctr.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../../shim/config/paths.js";
import { buildBusyboxImage } from "./busybox-image.js";
import { type ContainerdFixture, startContainerd } from "./private-containerd.js";

export const RUNTIME = "io.containerd.tskata.v2";
export const IMAGE = "localhost/busybox:latest";

export interface TskataContainerd extends ContainerdFixture {
  binDir: string;
  close(): Promise<void>;
}

/**
 * A new temp dir holding `containerd-shim-tskata-v2` (the built shim) for containerd's PATH; the
 * caller removes it. `build`: compile first (tests run from source; the demo runs the installed build).
 */
export function makeShimBinDir(opts: { build?: boolean } = {}): string {
  const repoRoot = packageRoot();
  if (!repoRoot) throw new Error("cannot find the tskata package root");
  if (opts.build ?? true) {
    execFileSync(join(repoRoot, "node_modules/.bin/tsc"), ["-p", "tsconfig.build.json"], { cwd: repoRoot });
  }
  const binDir = mkdtempSync(join(tmpdir(), "tskata-bin-"));
  symlinkSync(join(repoRoot, "dist/shim/main.js"), join(binDir, "containerd-shim-tskata-v2"));
  return binDir;
}

export async function startTskataContainerd(opts: { build?: boolean } = {}): Promise<TskataContainerd> {
  const binDir = makeShimBinDir(opts);
  const ctrd = await startContainerd({ pathPrefix: [binDir] });
  const image = join(binDir, "busybox.tar");
  buildBusyboxImage(image);
  await ctrd.ctr(["images", "import", image]);
  return {
    ...ctrd,
    binDir,
    async close() {
      await ctrd.stop();
      rmSync(binDir, { recursive: true, force: true });
    },
  };
}
