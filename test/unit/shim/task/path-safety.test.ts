/**
 * Path and input safety at the task layer (issue 9): ids that would leave the share, ids at
 * containerd's maximum length, mount destinations with `..`, and a share the guest filled with
 * symlinks — a clear error or correct behaviour, and nothing outside the sandbox's own
 * directories is created or mounted. Real mounts (tests run as root), a fake agent.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sandboxPaths, sandboxSocketDir } from "../../../../shim/hypervisor/sandbox-resources.js";
import type { OciSpec } from "../../../../shim/spec/guest-spec.js";
import { createInput, type TaskFixture, taskFixture } from "../../../support/task-fixture.js";

/** containerd's identifiers are at most 76 characters. */
const MAX_ID = `c${"x".repeat(75)}`;

let fx: TaskFixture;
let outside: string;

beforeAll(() => {
  fx = taskFixture();
  outside = mkdtempSync(join(fx.work, "host-dir-"));
  writeFileSync(join(outside, "passwd"), "host file\n");
});
afterAll(() => fx.dispose());

const spec = (mounts: OciSpec["mounts"] = []): OciSpec => ({
  ociVersion: "1.0.2",
  process: { args: ["sleep", "1"], cwd: "/", user: { uid: 0, gid: 0 } },
  root: { path: "rootfs", readonly: false },
  mounts,
  linux: { namespaces: [{ type: "pid" }, { type: "mount" }] },
});

function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m.startsWith(`${dir}/`));
}

describe("ids, destinations and the share: nothing outside the sandbox's directories", () => {
  it.each(["../escape", "a/b", ".", ".."])("refuses the task id %j before touching anything", async (id) => {
    const { tasks, provider } = fx.manager();
    const b = fx.bundle(spec());
    const before = readdirSync(fx.work).sort();
    await expect(tasks.create(createInput(id, b))).rejects.toThrow(
      expect.objectContaining({ code: "TASK_INVALID" }),
    );
    expect(provider.started).toHaveLength(0);
    expect(readdirSync(fx.work).sort()).toEqual(before);
    expect(existsSync(join(fx.work, "escape"))).toBe(false);
  });

  it("serves ids at containerd's maximum length: socket paths do not grow with the id", () => {
    const state = "/run/tskata";
    expect(sandboxSocketDir(state, MAX_ID).length).toBe(sandboxSocketDir(state, "a").length);
    expect(() => sandboxPaths(state, MAX_ID)).not.toThrow();
    expect(() => sandboxPaths(state, "../x")).toThrow(
      expect.objectContaining({ code: "SANDBOX_ID_INVALID" }),
    );
  });

  it("creates a 76-character task with a `..` mount destination: the host uses only its own share path", async () => {
    const { tasks, provider } = fx.manager();
    const volume = mkdtempSync(join(fx.work, "volume-"));
    const evil = { destination: "/../../etc/evil", type: "bind", source: volume, options: ["rbind", "rw"] };
    await tasks.create(createInput(MAX_ID, fx.bundle(spec([evil]))));
    const sb = provider.started[0]!;
    const guest = sb.fake.containers.get(MAX_ID)!.spec as OciSpec;
    // the destination is the guest's (crun resolves it inside the container's rootfs)
    expect(guest.mounts?.[0]?.destination).toBe("/../../etc/evil");
    expect(mountsUnder(sb.sharedDir).sort()).toEqual(
      [join(sb.sharedDir, MAX_ID, "mounts/0"), join(sb.sharedDir, MAX_ID, "rootfs")].sort(),
    );
    expect(existsSync("/etc/evil")).toBe(false);
    await tasks.destroy();
    expect(mountsUnder(sb.sharedDir)).toEqual([]);
  });

  it("refuses a container whose share directory the guest replaced by a symlink to a host directory", async () => {
    const { tasks, provider } = fx.manager();
    // the pod's first container opens the sandbox; the guest then plants a symlink for the next one
    await tasks.create(createInput("first", fx.bundle(spec())));
    const sb = provider.started[0]!;
    symlinkSync(outside, join(sb.sharedDir, "second"));
    const volume = mkdtempSync(join(fx.work, "volume-"));
    mkdirSync(join(volume, "d"));
    await expect(
      tasks.create(
        createInput(
          "second",
          fx.bundle(spec([{ destination: "/data", type: "bind", source: volume, options: ["rbind"] }])),
        ),
      ),
    ).rejects.toThrow(/is a symlink/);
    expect(readdirSync(outside)).toEqual(["passwd"]);
    expect(mountsUnder(outside)).toEqual([]);
    await tasks.destroy();
  });
});
