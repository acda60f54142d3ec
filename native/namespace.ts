/** Linux namespaces: a persistent network namespace made with unshare/setns on this thread. */
import { closeSync, openSync, writeFileSync } from "node:fs";
import { check, libc } from "./libc.js";
import { MountFlags, mount } from "./mount.js";

const CLONE_NEWNET = 0x40000000;

let unshareFn: ((flags: number) => number) | undefined;
let setnsFn: ((fd: number, nstype: number) => number) | undefined;

/**
 * Creates a new network namespace and keeps it alive by bind-mounting it on `path` (a file that
 * is created). The calling thread enters it only for the duration of the call and returns to
 * its own namespace before this returns.
 */
export function createPersistentNetns(path: string): void {
  unshareFn ??= libc().func("int unshare(int flags)") as (flags: number) => number;
  setnsFn ??= libc().func("int setns(int fd, int nstype)") as (fd: number, nstype: number) => number;
  writeFileSync(path, "");
  const own = openSync("/proc/thread-self/ns/net", "r");
  try {
    check(unshareFn(CLONE_NEWNET), "unshare", "CLONE_NEWNET");
    try {
      mount({ source: "/proc/thread-self/ns/net", target: path, fstype: null, flags: MountFlags.BIND });
    } finally {
      check(setnsFn(own, CLONE_NEWNET), "setns", "back to the agent's network namespace");
    }
  } finally {
    closeSync(own);
  }
}
