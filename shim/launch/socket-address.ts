/**
 * Where a shim listens, by containerd's convention: `/run/containerd/s/` followed by the hex
 * sha256 of `join(containerd address, namespace, group id)`. Every task of a pod (same group)
 * maps to the same socket, so they share one shim and one VM.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";

export const SOCKET_ROOT = "/run/containerd/s";
/** sun_path is 108 bytes including the NUL; containerd keeps shim sockets at or under 106. */
export const MAX_SOCKET_PATH = 106;

export function shimSocketPath(
  containerdAddress: string,
  namespace: string,
  groupId: string,
  root = SOCKET_ROOT,
): string {
  const digest = createHash("sha256")
    .update(join(containerdAddress, namespace, groupId))
    .digest("hex");
  const path = join(root, digest);
  if (path.length > MAX_SOCKET_PATH) {
    throw new Error(
      `shim socket path ${path} is ${path.length} bytes, over the ${MAX_SOCKET_PATH}-byte limit`,
    );
  }
  return path;
}

export function socketAddress(path: string): string {
  return `unix://${path}`;
}
