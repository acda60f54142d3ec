import { rm, stat, truncate } from "node:fs/promises";
import type { RootFormat } from "./config.js";
import { run } from "./exec.js";

/** Size in bytes of a directory tree's file contents (du --apparent-size). */
async function treeBytes(dir: string): Promise<number> {
  const { stdout } = await run("du", ["-sb", "--apparent-size", dir]);
  return Number.parseInt(stdout, 10);
}

/**
 * Root images are padded (sparse) to a multiple of this: a virtio-pmem device maps the file as
 * guest memory, and hotplugged DIMMs placed after it must start on the guest's 128 MiB memory
 * block boundary (shim/hypervisor/qemu/args/root-pmem.ts).
 */
export const ROOT_IMAGE_ALIGN_BYTES = 128 * 1024 * 1024;

/** `bytes` rounded up to a multiple of ROOT_IMAGE_ALIGN_BYTES. */
export function alignedImageBytes(bytes: number): number {
  return Math.ceil(bytes / ROOT_IMAGE_ALIGN_BYTES) * ROOT_IMAGE_ALIGN_BYTES;
}

/**
 * Makes a read-only root filesystem image of `dir` at `output` (raw), its size padded to
 * ROOT_IMAGE_ALIGN_BYTES. ext4 gets no journal, no reserved blocks, 4 KiB blocks (DAX needs the
 * block size to be the page size); erofs is uncompressed or lz4hc.
 */
export async function makeRootImage(dir: string, output: string, format: RootFormat): Promise<void> {
  await writeRootImage(dir, output, format);
  const { size } = await stat(output);
  await truncate(output, alignedImageBytes(size));
}

async function writeRootImage(dir: string, output: string, format: RootFormat): Promise<void> {
  await rm(output, { force: true });
  const fixedTime = "0";
  switch (format) {
    case "ext4": {
      const bytes = await treeBytes(dir);
      // file data + ~15% for metadata and block rounding, in MiB
      const mib = Math.ceil((bytes * 1.15) / 1048576) + 16;
      await run(
        "mkfs.ext4",
        [
          "-q",
          "-F",
          "-L",
          "tskata-root",
          "-U",
          "clear",
          "-E",
          "root_owner=0:0,hash_seed=5f8b1c2e-0a9d-4f3e-8b7a-2c1d0e9f8a7b",
          "-O",
          "^has_journal,^resize_inode",
          "-m",
          "0",
          // 4 KiB blocks (mkfs picks 1 KiB for a "small" filesystem: 4× the block I/O and
          // metadata) and one inode per 64 KiB: the tree has a few hundred files
          "-b",
          "4096",
          "-i",
          "65536",
          "-d",
          dir,
          output,
          `${mib}M`,
        ],
        { env: { ...process.env, E2FSPROGS_FAKE_TIME: fixedTime } },
      );
      // shrink to the minimum the filesystem needs
      await run("e2fsck", ["-fy", output]).catch(() => undefined);
      await run("resize2fs", ["-M", output]);
      return;
    }
    case "erofs":
    case "erofs-lz4": {
      const args = ["--quiet", "--all-root", `-T${fixedTime}`, "-U5f8b1c2e-0a9d-4f3e-8b7a-2c1d0e9f8a7b"];
      if (format === "erofs-lz4") args.push("-zlz4hc");
      await run("mkfs.erofs", [...args, output, dir]);
      return;
    }
  }
}

/** Virtual size reported by qemu-img for a raw image. */
export async function imageInfo(path: string): Promise<{ virtualSize: number; format: string }> {
  const { stdout } = await run("qemu-img", ["info", "--output=json", "-f", "raw", path]);
  const info = JSON.parse(stdout) as { "virtual-size": number; format: string };
  return { virtualSize: info["virtual-size"], format: info.format };
}
