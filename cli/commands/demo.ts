/**
 * `tskata demo`: the main job. A private containerd (its own root, state and sockets; stopped
 * afterwards) with io.containerd.tskata.v2 on its PATH and a busybox image built locally, then
 * `ctr run --rm --runtime io.containerd.tskata.v2` of a container in its own micro-VM, printing
 * the container's output, the guest kernel it ran on, and the wall time of the run.
 */
import { startTskataContainerd } from "../demo/tskata-containerd.js";

const SCRIPT =
  'echo "Hello from a tskata micro-VM"; echo "guest kernel: $(uname -r)"; echo "hostname: $(hostname)"';

export async function demo(): Promise<number> {
  process.stdout.write("starting a private containerd 1.6 with the tskata runtime …\n");
  const ctrd = await startTskataContainerd({ build: false });
  try {
    process.stdout.write(
      `running: ctr run --rm --runtime io.containerd.tskata.v2 localhost/busybox:latest demo sh -c '…'\n`,
    );
    const t0 = performance.now();
    const r = await ctrd.exec(
      [
        "run",
        "--rm",
        "--runtime",
        "io.containerd.tskata.v2",
        "localhost/busybox:latest",
        "demo",
        "sh",
        "-c",
        SCRIPT,
      ],
      { timeoutMs: 300_000 },
    );
    const ms = performance.now() - t0;
    process.stdout.write(r.stdout);
    if (r.stderr) process.stderr.write(r.stderr);
    process.stdout.write(
      `container exit status ${r.code}; start to exit (VM boot included) ${(ms / 1000).toFixed(2)} s\n`,
    );
    return r.code === 0 ? 0 : 1;
  } finally {
    await ctrd.close();
  }
}
