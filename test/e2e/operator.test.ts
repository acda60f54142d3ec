/**
 * The operator's view of running sandboxes (`tskata list/inspect/exec/metrics`) against real
 * VMs started by `ctr run -d` through a private containerd: each shim serves its admin socket,
 * `list` shows the container, `inspect` gives the real QEMU pid, `exec` runs `uname -a` in the
 * guest when the sandbox's configuration (ConfigPath) has [agent] debug_exec = true and is
 * refused naming the key when not, and `metrics` parses as Prometheus text with boot phases.
 * Two sandboxes (debug exec on and off), booted once in beforeAll.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  IMAGE,
  RUNTIME,
  startTskataContainerd,
  type TskataContainerd,
} from "../../cli/demo/tskata-containerd.js";
import { UmountFlags, umount } from "../../native/mount.js";
import { isMountPoint } from "../../shim/rootfs/rootfs.js";
import { parsePrometheusText } from "../support/prometheus-check.js";

const VM_MS = 240_000;
const DEBUG_ON = "opdbg";
const DEBUG_OFF = "opnodbg";
const repo = join(import.meta.dirname, "../..");

let ctrd: TskataContainerd;
let scratch: string;
let stateDir: string;

function tskata(
  args: string[],
  timeoutMs = 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [join(repo, "dist/cli/main.js"), ...args],
      { timeout: timeoutMs, encoding: "utf8" },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end();
  });
}

async function runDetached(id: string, configPath: string): Promise<void> {
  const r = await ctrd.exec(
    ["run", "-d", "--runtime", RUNTIME, "--runtime-config-path", configPath, IMAGE, id, "sleep", "100000"],
    { timeoutMs: VM_MS },
  );
  expect(r).toMatchObject({ code: 0, stderr: "" });
}

async function remove(id: string): Promise<void> {
  await ctrd.exec(["task", "kill", "-s", "SIGKILL", id]).catch(() => undefined);
  await ctrd.exec(["task", "rm", "-f", id], { timeoutMs: 60_000 }).catch(() => undefined);
  await ctrd.exec(["containers", "rm", id]).catch(() => undefined);
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "tskata-op-"));
  stateDir = join(scratch, "st");
  mkdirSync(stateDir);
  const config = (debug: boolean) => {
    const file = join(scratch, `debug-${debug}.toml`);
    writeFileSync(file, `[agent]\ndebug_exec = ${debug}\n[runtime]\nstate_dir = "${stateDir}"\n`);
    return file;
  };
  ctrd = await startTskataContainerd();
  await runDetached(DEBUG_ON, config(true));
  await runDetached(DEBUG_OFF, config(false));
}, 2 * VM_MS);

afterAll(async () => {
  if (ctrd) {
    await remove(DEBUG_ON);
    await remove(DEBUG_OFF);
    await ctrd.close();
  }
  const shared = join(stateDir, "sandboxes");
  while (isMountPoint(shared)) umount(shared, UmountFlags.DETACH);
  rmSync(scratch, { recursive: true, force: true });
}, VM_MS);

describe("tskata operator commands on running sandboxes", () => {
  it("list shows each sandbox with its running container, accelerator and host PSS", async () => {
    const r = await tskata(["list", "--state-dir", stateDir]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    const row = r.stdout.split("\n").find((l) => l.startsWith(`${DEBUG_ON} `));
    expect(row).toMatch(
      new RegExp(
        `^${DEBUG_ON}\\s+-\\s+${DEBUG_ON}\\(running\\)\\s+running\\s+(tcg|kvm)\\s+\\S+\\s+\\d+\\.\\dMiB$`,
      ),
    );
    expect(r.stdout).toMatch(new RegExp(`^${DEBUG_OFF}\\s`, "m"));
  });

  it("inspect gives the sandbox's QEMU pid, guest memory and the agent's round-trip time", async () => {
    const r = await tskata(["inspect", "--state-dir", stateDir, DEBUG_ON]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    const doc = JSON.parse(r.stdout) as Record<string, unknown> & {
      containers: { id: string; init: { state: string } }[];
    };
    const qemuPid = doc["qemuPid"] as number;
    expect(readFileSync(`/proc/${qemuPid}/cmdline`, "utf8")).toContain("qemu-system");
    expect(doc.containers.map((c) => [c.id, c.init.state])).toEqual([[DEBUG_ON, "running"]]);
    expect(Number(doc["guestMemTotalBytes"])).toBeGreaterThan(100 * 1024 * 1024);
    expect(doc["agentRttMs"] as number).toBeGreaterThan(0);
    expect(doc["guestError"]).toBe("");
    expect(Number(doc["hostPssBytes"])).toBeGreaterThan(0);
  });

  it("exec runs uname -a in the guest when debug_exec = true and returns the guest command's status", async () => {
    const r = await tskata(["exec", "--state-dir", stateDir, DEBUG_ON, "uname", "-a"]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toMatch(/^Linux \S+ 6\.1\.0-\S+-cloud-amd64 .*\n$/);
    const failing = await tskata([
      "exec",
      "--state-dir",
      stateDir,
      DEBUG_ON,
      "sh",
      "-c",
      "echo oops >&2; exit 7",
    ]);
    expect(failing).toMatchObject({ code: 7, stderr: "oops\n" });
  });

  it("exec --tty gives the guest command a terminal of its own (a pty, 24x80 when the local side has no size)", async () => {
    const r = await tskata([
      "exec",
      "--tty",
      "--state-dir",
      stateDir,
      DEBUG_ON,
      "sh",
      "-c",
      "tty; stty size",
    ]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toMatch(/^\/dev\/pts\/\d+\r\n24 80\r\n$/);
  });

  it("the shim's debug log traces each agent call with its duration, on lines carrying the sandbox id", () => {
    expect(ctrd.log()).toMatch(
      new RegExp(`"sandbox":"${DEBUG_ON}".*"rpc":"Agent/createSandbox","ms":[\\d.]+.*"msg":"agent call"`),
    );
  });

  it("exec is refused with an error naming [agent] debug_exec when the sandbox's configuration does not allow it", async () => {
    const r = await tskata(["exec", "--state-dir", stateDir, DEBUG_OFF, "uname", "-a"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("[agent] debug_exec = true");
  });

  it("metrics gathers every sandbox into one Prometheus page holding the boot phases", async () => {
    const r = await tskata(["metrics", "--state-dir", stateDir]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    const page = parsePrometheusText(r.stdout);
    const phases = page.samples
      .filter((s) => s.name === "tskata_boot_phase_seconds" && s.labels["sandbox_id"] === DEBUG_ON)
      .map((s) => s.labels["phase"]);
    expect(phases).toEqual(
      expect.arrayContaining(["config", "qemu-spawn", "health", "create-sandbox", "start"]),
    );
    const up = page.samples
      .filter((s) => s.name === "tskata_sandbox_up")
      .map((s) => [s.labels["sandbox_id"], s.value]);
    expect(up).toEqual(
      expect.arrayContaining([
        [DEBUG_ON, 1],
        [DEBUG_OFF, 1],
      ]),
    );
    expect(
      page.samples.some(
        (s) =>
          s.name === "tskata_agent_rpc_duration_seconds_count" &&
          s.labels["method"] === "Agent/createSandbox",
      ),
    ).toBe(true);
  });
});
