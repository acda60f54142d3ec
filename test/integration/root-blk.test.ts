/**
 * The virtio-blk fallback for the root image (hypervisor.root_image_device = "blk"; the default
 * is pmem): ONE VM booted through Sandbox.start on the real guest image under TCG, a container
 * run through the agent, the guest rooted on /dev/vda with no pmem device, and QEMU not mapping
 * the image file as memory.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../shim/config/load.js";
import { resolveGuestDir } from "../../shim/config/paths.js";
import { Sandbox, standaloneSpec } from "../../shim/sandbox/sandbox.js";
import { baseSpec, makeBusyboxRootfs, runContainer } from "../fixtures/agent-vm.js";

const guestDir = resolveGuestDir();
let stateDir: string;
let sandbox: Sandbox;
let processes: { pid: number; role: string }[];
let image: string;

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

beforeAll(async () => {
  if (!existsSync(join(guestDir.dir, "manifest.json")))
    throw new Error(`guest image not built in ${guestDir.dir}: run npm run build:guest first`);
  stateDir = await mkdtemp(join(tmpdir(), "tskata-blk-"));
  const config = parseConfig(
    `[hypervisor]\naccel = "tcg"\nroot_image_device = "blk"\n[runtime]\nstate_dir = "${stateDir}"\n`,
  );
  image = config.hypervisor.image!;
  sandbox = await Sandbox.start({ spec: standaloneSpec("blk1"), config, log: pino({ level: "warn" }) });
  processes = (
    JSON.parse(readFileSync(join(stateDir, "sandboxes/blk1/resources.json"), "utf8")) as {
      processes: { pid: number; role: string }[];
    }
  ).processes;
}, 180_000);

afterAll(async () => {
  if (!sandbox) return;
  await sandbox.stop();
  expect(processes.map((p) => p.pid).filter(alive)).toEqual([]);
  expect(readdirSync(join(stateDir, "sandboxes"))).toEqual([]);
  rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

describe("root image on virtio-blk (the fallback)", () => {
  it("boots and runs a container whose guest is rooted on /dev/vda, with no pmem device", async () => {
    const rootfs = makeBusyboxRootfs(sandbox.sharedDir, "busybox");
    const script = "echo hello from blk; ls /sys/block | grep -c '^pmem' || true; cat /proc/cmdline";
    const r = await runContainer(sandbox.agent, "c1", rootfs, baseSpec(["sh", "-c", script]));
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    const [hello, pmems, cmdline] = r.stdout.split("\n");
    expect({ hello, pmems }).toEqual({ hello: "hello from blk", pmems: "0" });
    expect(cmdline).toContain("tskata.root=/dev/vda");
    expect(cmdline).not.toContain("tskata.rootflags=dax");
  }, 120_000);

  it("QEMU reads the image as a disk: no mapping of the image file", () => {
    const qemu = processes.find((p) => p.role === "qemu")!.pid;
    expect(readFileSync(`/proc/${qemu}/maps`, "utf8")).not.toContain(image);
  });
});
