/**
 * The boot floor the sandbox benchmarks compare against: QEMU with the guest kernel and a
 * trivial busybox /init that powers off at once, timed from spawn to exit; plus small helpers.
 */
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const FLOOR_APPEND =
  "console=ttyS0 quiet panic=-1 tsc=reliable no_timer_check noreplace-smp cryptomgr.notests";

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export function floorInitrd(dir: string): string {
  const root = join(dir, "root");
  mkdirSync(join(root, "bin"), { recursive: true });
  cpSync("/bin/busybox", join(root, "bin/busybox"));
  writeFileSync(join(root, "init"), "#!/bin/busybox sh\n/bin/busybox poweroff -f\n");
  chmodSync(join(root, "init"), 0o755);
  const out = join(dir, "floor.cpio");
  execFileSync("sh", ["-c", `cd ${root} && find . | cpio -o -H newc --quiet > ${out}`]);
  return out;
}

export async function floorRun(kernel: string, initrd: string, memoryMiB: number): Promise<number> {
  const t0 = performance.now();
  const qemu = spawn(
    "qemu-system-x86_64",
    [
      ...["-machine", "q35", "-accel", "tcg,thread=multi", "-cpu", "max", "-smp", "1", "-m", `${memoryMiB}M`],
      ...["-nodefaults", "-no-user-config", "-nographic", "-no-reboot", "-serial", "null"],
      ...["-kernel", kernel, "-initrd", initrd, "-append", FLOOR_APPEND],
    ],
    { stdio: "ignore" },
  );
  const code = await new Promise<number | null>((r) => qemu.once("exit", r));
  if (code !== 0) throw new Error(`floor QEMU exited with ${code}`);
  return performance.now() - t0;
}

/** Proportional set size of a process, from smaps_rollup. */
export function pssKiB(pid: number): number {
  const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
  return Number(m?.[1] ?? 0);
}
