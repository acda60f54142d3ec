/**
 * `start`: find or launch the shim that serves this task's pod, record its address in the bundle
 * and print it. A running shim for the group (its socket answers) is reused: one shim and one VM
 * per pod. Otherwise the daemon is spawned detached (own session, no inherited stdio, so
 * containerd's read of our output ends) and awaited until its socket answers.
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { bundleGroupId } from "./bundle-group.js";
import type { ShimFlags } from "./flags.js";
import { SOCKET_ROOT, shimSocketPath, socketAddress } from "./socket-address.js";

const READY_TIMEOUT_MS = 4000;

export function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

export async function startShim(flags: ShimFlags, entry: string, socketRoot = SOCKET_ROOT): Promise<string> {
  const bundle = process.cwd();
  const group = bundleGroupId(bundle, flags.id);
  const socket = shimSocketPath(flags.address, flags.namespace, group, socketRoot);
  const address = socketAddress(socket);
  if (!(await socketAnswers(socket))) {
    mkdirSync(socketRoot, { recursive: true, mode: 0o711 });
    const args = [
      entry,
      "-namespace",
      flags.namespace,
      "-id",
      flags.id,
      "-address",
      flags.address,
      "-publish-binary",
      flags.publishBinary,
      "-socket",
      socket,
      ...(flags.debug ? ["-debug"] : []),
    ];
    const child = spawn(process.execPath, args, {
      argv0: "containerd-shim-tskata-v2",
      cwd: bundle,
      detached: true,
      stdio: "ignore",
      // Each stdin FIFO waits for its client's writer on a libuv thread: room for many processes.
      env: { UV_THREADPOOL_SIZE: "64", ...process.env },
    });
    child.unref();
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!(await socketAnswers(socket))) {
      if (child.exitCode !== null)
        throw new Error(`shim daemon exited with ${child.exitCode} before serving ${socket}`);
      if (Date.now() > deadline)
        throw new Error(`shim daemon did not serve ${socket} within ${READY_TIMEOUT_MS} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  writeFileSync(join(bundle, "address"), address);
  return address;
}
