import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HypervisorError } from "../../../../../shim/hypervisor/errors.js";
import { rootImage } from "../../../../../shim/hypervisor/qemu/plan.js";

const MiB = 1048576;
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tskata-rootimg-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: number, head = Buffer.alloc(0)): string {
  const path = join(dir, name);
  writeFileSync(path, head);
  truncateSync(path, bytes);
  return path;
}

async function refusal(p: Promise<unknown>): Promise<HypervisorError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof HypervisorError)) throw new Error(`expected a HypervisorError, got ${String(err)}`);
  return err;
}

describe("planning the root image device", () => {
  it("blk attaches any image with its format", async () => {
    const path = file("odd.img", 3 * MiB + 5);
    expect(await rootImage(path, "blk")).toEqual({ device: "blk", path, format: "raw" });
  });
  it("pmem takes a raw image of whole 128 MiB steps, with its size", async () => {
    const path = file("aligned.img", 256 * MiB);
    expect(await rootImage(path, "pmem")).toEqual({ device: "pmem", path, sizeBytes: 256 * MiB });
  });
  it("pmem refuses an image whose size is not a multiple of 128 MiB, naming the key and the size", async () => {
    const path = file("unaligned.img", 130 * MiB);
    const err = await refusal(rootImage(path, "pmem"));
    expect(err.code).toBe("ROOT_IMAGE_UNSUITABLE");
    expect(err.message).toContain('hypervisor.root_image_device = "pmem"');
    expect(err.message).toContain(`${130 * MiB} bytes, not a multiple of 128 MiB`);
  });
  it("auto takes pmem where it can, else blk with a note saying why", async () => {
    const aligned = file("auto-aligned.img", 128 * MiB);
    expect(await rootImage(aligned, "auto")).toEqual({ device: "pmem", path: aligned, sizeBytes: 128 * MiB });
    const odd = file("auto-odd.img", 130 * MiB);
    const notes: string[] = [];
    expect(await rootImage(odd, "auto", "q35", notes)).toEqual({ device: "blk", path: odd, format: "raw" });
    expect(notes).toEqual([
      `root image on virtio-blk: ${odd} is ${130 * MiB} bytes, not a multiple of 128 MiB (rebuild it with npm run build:guest, or pad it with truncate)`,
    ]);
    const onMicrovm: string[] = [];
    expect((await rootImage(aligned, "auto", "microvm", onMicrovm))?.device).toBe("blk");
    expect(onMicrovm[0]).toMatch(/needs a PCI machine/);
  });
  it("pmem refuses a qcow2 image (the file itself is mapped as memory)", async () => {
    const path = file("disk.qcow2", 128 * MiB, Buffer.from([0x51, 0x46, 0x49, 0xfb]));
    const err = await refusal(rootImage(path, "pmem"));
    expect(err.code).toBe("ROOT_IMAGE_UNSUITABLE");
    expect(err.message).toMatch(/is qcow2; pmem .* needs a raw image/);
  });
});
