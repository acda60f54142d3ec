import { chmod, copyFile, cp, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { GUEST_PATHS } from "./config.js";
import { libraryClosure, readNeeded, stagingLocator } from "./elf-deps.js";
import { run } from "./exec.js";

export interface RootfsSources {
  /** Unpacked Debian packages (dpkg-deb -x of every package). */
  staging: string;
  /** Kernel release, e.g. 6.1.0-56-cloud-amd64. */
  kernelRelease: string;
  /** Module paths relative to /lib/modules/KVER, in load order. */
  modules: readonly string[];
  nodeBinary: string;
  agentBundle: string;
  agentSnapshot: string;
  /** Package directories copied to the agent's node_modules (name → directory). */
  nodePackages: Record<string, string>;
  /** Text of the rootfs init script (runs as PID 1 after switch_root). */
  initScript: string;
  agentVersion: string;
}

export interface RootfsResult {
  libraries: string[];
  busyboxApplets: number;
}

const DIRS = [
  "usr/bin",
  "usr/sbin",
  "usr/lib/x86_64-linux-gnu",
  "usr/lib64",
  "etc",
  "proc",
  "sys",
  "dev",
  "run",
  "tmp",
  "mnt",
  "root",
  "var",
];

/** Assembles the guest root filesystem tree in `root` (wiped first). */
export async function assembleRootfs(root: string, src: RootfsSources): Promise<RootfsResult> {
  await rm(root, { recursive: true, force: true });
  for (const d of DIRS) await mkdir(join(root, d), { recursive: true });
  // merged /usr, like Debian 12
  for (const [link, target] of [
    ["bin", "usr/bin"],
    ["sbin", "usr/sbin"],
    ["lib", "usr/lib"],
    ["lib64", "usr/lib64"],
    ["var/run", "../run"],
    ["var/tmp", "../tmp"],
  ] as const) {
    await symlink(target, join(root, link));
  }
  await chmod(join(root, "tmp"), 0o1777);

  const put = async (from: string, guestPath: string, mode = 0o755): Promise<string> => {
    const to = join(root, guestPath);
    await mkdir(dirname(to), { recursive: true });
    await copyFile(from, to);
    await chmod(to, mode);
    return to;
  };

  const busybox = await put(join(src.staging, "bin/busybox"), GUEST_PATHS.busybox);
  const node = await put(src.nodeBinary, GUEST_PATHS.node);
  // drops .symtab (~12 MB); .dynsym stays, so native addons (koffi) still link against Node-API
  await run("strip", [node]);
  const crun = await put(join(src.staging, "usr/bin/crun"), GUEST_PATHS.crun);
  const tini = await put(join(src.staging, "usr/bin/tini"), GUEST_PATHS.tini);

  const applets = (await run(busybox, ["--list"])).stdout.split("\n").filter((a) => /^[\w.[-]+$/.test(a));
  for (const applet of applets) {
    if (["busybox", "init", "linuxrc"].includes(applet)) continue;
    await symlink("busybox", join(root, "usr/bin", applet)).catch(() => undefined);
  }

  const libs = await libraryClosure([node, crun, tini], readNeeded, stagingLocator(src.staging));
  for (const [soname, file] of libs) await put(file, join(GUEST_PATHS.libDir, soname));
  await symlink(`../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2`, join(root, GUEST_PATHS.loader));

  const modRoot = `usr/lib/modules/${src.kernelRelease}`;
  const stagedMods = join(src.staging, "lib/modules", src.kernelRelease);
  for (const m of src.modules) await put(join(stagedMods, m), join(modRoot, m), 0o644);
  for (const f of ["modules.builtin", "modules.builtin.modinfo", "modules.order"]) {
    await put(join(stagedMods, f), join(modRoot, f), 0o644);
  }
  await run("depmod", ["-b", root, src.kernelRelease]);

  await put(src.agentBundle, GUEST_PATHS.agentEntry, 0o644);
  await put(src.agentSnapshot, GUEST_PATHS.agentSnapshot, 0o644);
  for (const [name, dir] of Object.entries(src.nodePackages)) {
    await cp(dir, join(root, GUEST_PATHS.agentDir, "node_modules", name), {
      recursive: true,
      // JavaScript and the glibc .node only: no C sources, headers, docs or musl build
      filter: (path) =>
        !/\/(vendor|doc|musl_x64|abi)(\/|$)/.test(path) && !/\.(cc|hh|h|c|inc|S|asm|def|md|txt)$/.test(path),
    });
  }

  await writeFile(join(root, "usr/sbin/tskata-init"), src.initScript, { mode: 0o755 });
  await writeEtc(root, src.agentVersion);
  return { libraries: [...libs.keys()].sort(), busyboxApplets: applets.length };
}

async function writeEtc(root: string, agentVersion: string): Promise<void> {
  const files: Record<string, string> = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    "etc/group": "root:x:0:\nnogroup:x:65534:\n",
    "etc/hostname": "tskata\n",
    "etc/hosts": "127.0.0.1 localhost\n::1 localhost\n",
    "etc/os-release": `NAME="tskata guest"\nID=tskata\nVERSION_ID="${agentVersion}"\n`,
  };
  for (const [path, text] of Object.entries(files)) await writeFile(join(root, path), text);
  // Written by the agent at sandbox creation; /etc is read-only.
  await symlink("../run/tskata/resolv.conf", join(root, "etc/resolv.conf"));
}
