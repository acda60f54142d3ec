/**
 * The root image as virtio-pmem with DAX (hypervisor.root_image_device = "pmem") on the real
 * guest image under TCG: ONE VM booted through Sandbox.start, a container run through the agent,
 * the guest seeing /dev/pmem0 (DAX-capable) and no virtio-blk disk, QEMU mapping the image file
 * itself read-only and shared (the pages every such VM shares through the host page cache), and
 * the start-up timeline holding the host's and the guest's boot phases. The virtio-blk path is
 * what every other VM test boots.
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
import { Timeline } from "../../shim/timeline/timeline.js";
import { baseSpec, makeBusyboxRootfs, runContainer } from "../fixtures/agent-vm.js";

const guestDir = resolveGuestDir();
let stateDir: string;
let sandbox: Sandbox;
let timeline: Timeline;
let pids: number[];
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
  stateDir = await mkdtemp(join(tmpdir(), "tskata-pmem-"));
  const config = parseConfig(
    `[hypervisor]\naccel = "tcg"\nroot_image_device = "pmem"\n[runtime]\nstate_dir = "${stateDir}"\n`,
  );
  image = config.hypervisor.image!;
  timeline = new Timeline("pmem1");
  sandbox = await Sandbox.start({
    spec: standaloneSpec("pmem1"),
    config,
    log: pino({ level: "warn" }),
    timeline,
  });
  const record = JSON.parse(readFileSync(join(stateDir, "sandboxes/pmem1/resources.json"), "utf8")) as {
    processes: { pid: number; role: string }[];
  };
  pids = record.processes.map((p) => p.pid);
}, 180_000);

afterAll(async () => {
  if (!sandbox) return;
  await sandbox.stop();
  expect(pids.filter(alive)).toEqual([]);
  expect(readdirSync(join(stateDir, "sandboxes"))).toEqual([]);
  rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

describe("root image on virtio-pmem with DAX", () => {
  it("boots and runs a container whose guest has /dev/pmem0 (DAX) as root and no virtio-blk disk", async () => {
    const rootfs = makeBusyboxRootfs(sandbox.sharedDir, "busybox");
    const script = [
      "echo hello from dax",
      "cat /sys/block/pmem0/queue/dax",
      "ls /sys/block | grep -c '^vd' || true",
      "cat /proc/cmdline",
    ].join("; ");
    const r = await runContainer(sandbox.agent, "c1", rootfs, baseSpec(["sh", "-c", script]));
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    const [hello, dax, vdisks, cmdline] = r.stdout.split("\n");
    expect({ hello, dax, vdisks }).toEqual({ hello: "hello from dax", dax: "1", vdisks: "0" });
    expect(cmdline).toContain("tskata.root=/dev/pmem0 tskata.rootflags=dax");
  }, 120_000);

  it("QEMU maps the image file itself, read-only and shared, and the guest's reads land there", () => {
    const qemu = readFileSync(join(stateDir, "sandboxes/pmem1/resources.json"), "utf8");
    const qemuPid = (JSON.parse(qemu) as { processes: { pid: number; role: string }[] }).processes.find(
      (p) => p.role === "qemu",
    )!.pid;
    const mapping = readFileSync(`/proc/${qemuPid}/smaps`, "utf8")
      .split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)
      .find((m) => m.split("\n")[0]!.endsWith(` ${image}`));
    expect(mapping, `no mapping of ${image} in QEMU`).toBeDefined();
    expect(mapping!.split(/\s+/)[1]).toBe("r--s");
    expect(Number(/\nRss:\s+(\d+) kB/.exec(mapping!)?.[1])).toBeGreaterThan(1024);
  });

  it("the start-up timeline holds the host's and the guest's boot phases in order", () => {
    const phases = timeline.phases().map((p) => p.phase);
    const expected = [
      "vm-plan",
      "virtiofsd",
      "qemu-spawn",
      "qmp-ready",
      "firmware",
      "guest-initramfs",
      "guest-rootfs-init",
      "guest-agent-start",
      "guest-agent-init",
      "guest-agent-listening",
      "health",
      "create-sandbox",
    ];
    expect(phases.filter((p) => expected.includes(p))).toEqual(expected);
    expect(timeline.phases().every((p) => p.durationMs >= 0)).toBe(true);
  });
});
