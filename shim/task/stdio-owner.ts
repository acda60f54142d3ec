/**
 * runc's IoUid/IoGid for a VM runtime: the process's stdio on the host (containerd's FIFOs, or
 * the files of `file://` URIs) is given to that uid/gid, as runc's shim gives its stdio pipes,
 * so a reader or writer running as that user can use them. Logging binaries and null stdio have
 * nothing to own.
 */
import { chownSync, closeSync, openSync } from "node:fs";
import { parseStdioUri } from "../io/stdio-uri.js";
import { invalid } from "./errors.js";
import type { ProcessIo } from "./io-bridge.js";

export interface IoOwner {
  uid: number;
  gid: number;
}

export function ownStdio(io: ProcessIo, owner: IoOwner | undefined): void {
  if (!owner) return;
  const streams = io.terminal ? (["stdin", "stdout"] as const) : (["stdin", "stdout", "stderr"] as const);
  for (const name of streams) {
    const target = parseStdioUri(io[name], name);
    if (target.kind !== "path" && target.kind !== "file") continue;
    try {
      // a file:// target may not exist yet: it is created as the bridge would (append)
      if (target.kind === "file") closeSync(openSync(target.path, "a"));
      chownSync(target.path, owner.uid, owner.gid);
    } catch (err) {
      throw invalid(
        `${name} ${target.path}: cannot give it to uid ${owner.uid} gid ${owner.gid} (io_uid/io_gid): ${(err as Error).message}`,
        err,
      );
    }
  }
}
