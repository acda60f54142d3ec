import { copyFile, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { run } from "./exec.js";

export interface InitramfsSources {
  busybox: string;
  /** Absolute paths of the modules to insmod, in load order. */
  modules: readonly string[];
  init: string;
}

const APPLETS = ["sh", "mount", "insmod", "cat", "usleep", "switch_root", "echo", "mkdir"];

/** Builds a small gzip-compressed newc initramfs at `output`; `work` is a scratch directory. */
export async function buildInitramfs(work: string, output: string, src: InitramfsSources): Promise<void> {
  await rm(work, { recursive: true, force: true });
  for (const d of ["bin", "dev", "proc", "sys", "newroot", "modules"])
    await mkdir(join(work, d), { recursive: true });
  await copyFile(src.busybox, join(work, "bin/busybox"));
  for (const applet of APPLETS) await symlink("busybox", join(work, "bin", applet));
  const names: string[] = [];
  for (const [i, m] of src.modules.entries()) {
    // numbered so two modules with the same file name cannot collide
    const name = `${String(i).padStart(2, "0")}-${basename(m)}`;
    await copyFile(m, join(work, "modules", name));
    names.push(name);
  }
  await writeFile(join(work, "modules.load"), `${names.join("\n")}\n`);
  await writeFile(join(work, "init"), src.init, { mode: 0o755 });
  // The kernel opens /dev/console for /init's stdio before anything is mounted.
  await run("mknod", ["-m", "600", join(work, "dev/console"), "c", "5", "1"]);
  await run("sh", [
    "-c",
    'set -e; cd "$1"; find . -mindepth 1 -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --reproducible --quiet -R 0:0 | gzip -9n > "$2"',
    "sh",
    work,
    output,
  ]);
}
