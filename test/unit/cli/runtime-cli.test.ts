/**
 * `tskata-runtime`'s command line without a VM: runc's flag grammar, signal names, and the
 * runc-style errors (message on stderr and in --log, exit status 1) for bad input, which change
 * nothing under --root.
 */
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseSpec } from "../../../agent/spec/validate.js";
import { checkId, parseCommandLine, parseSignal } from "../../../cli/runtime/args.js";
import { callControl, serveControl } from "../../../cli/runtime/control.js";
import { logLine } from "../../../cli/runtime/report-error.js";
import { reapSandbox } from "../../../cli/runtime/sandbox-reaper.js";
import { type ContainerRecord, readRecord, writeRecord } from "../../../cli/runtime/state-store.js";
import { followWindowSize } from "../../../cli/runtime/window-size.js";

const MAIN = join(import.meta.dirname, "../../../cli/runtime/main.ts");
const scratch = mkdtempSync(join(tmpdir(), "tskata-runtime-cli-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function runtime(args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", MAIN, ...args], {
    encoding: "utf8",
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("tskata-runtime command line parsing", () => {
  it("reads runc's global flags before the command and the command's flags before its id", () => {
    const p = parseCommandLine([
      "--root",
      "/r",
      "--log=/l.json",
      "--log-format",
      "json",
      "--systemd-cgroup",
      "create",
      "--bundle",
      "/b",
      "--pid-file=/p",
      "--no-pivot",
      "--preserve-fds",
      "2",
      "c1",
    ]);
    expect(p.global).toEqual({ root: "/r", log: "/l.json", "log-format": "json", "systemd-cgroup": true });
    expect(p.command).toBe("create");
    expect(p.flags).toEqual({ bundle: "/b", "pid-file": "/p", "no-pivot": true, "preserve-fds": 2 });
    expect(p.args).toEqual(["c1"]);
  });

  it("keeps an exec's command flags for the command (no reordering after the id)", () => {
    const p = parseCommandLine(["exec", "-t", "--env", "A=1", "-e", "B=2", "c1", "sh", "-c", "echo hi"]);
    expect(p.flags).toEqual({ tty: true, env: ["A=1", "B=2"] });
    expect(p.args).toEqual(["c1", "sh", "-c", "echo hi"]);
  });

  it("refuses unknown commands, unknown flags and wrong argument counts with runc's texts", () => {
    expect(() => parseCommandLine(["frobnicate"])).toThrow("No help topic for 'frobnicate'");
    expect(() => parseCommandLine(["create", "--bogus", "c1"])).toThrow(
      "flag provided but not defined: -bogus",
    );
    expect(() => parseCommandLine(["start"])).toThrow('"start" requires exactly 1 argument(s)');
    expect(() => parseCommandLine(["create", "--bundle"])).toThrow("flag needs an argument: -bundle");
  });

  it("takes signals by number, name or SIG-name and refuses others", () => {
    expect(parseSignal("9")).toBe(9);
    expect(parseSignal("TERM")).toBe(15);
    expect(parseSignal("SIGUSR1")).toBe(10);
    expect(parseSignal("sigkill")).toBe(9);
    expect(() => parseSignal("SIGBOGUS")).toThrow('unknown signal "SIGBOGUS"');
    expect(() => parseSignal("99")).toThrow('unknown signal "99"');
  });

  it("accepts runc's container ids and refuses path-like ones", () => {
    expect(() => checkId("abc_1.2-3")).not.toThrow();
    expect(() => checkId("../x")).toThrow("invalid id format: ../x");
  });

  it("writes log entries in logrus text and json formats", () => {
    const at = new Date("2026-01-02T03:04:05.000Z");
    expect(logLine("json", "error", "boom", at)).toBe(
      '{"level":"error","msg":"boom","time":"2026-01-02T03:04:05.000Z"}\n',
    );
    expect(logLine("text", "error", 'a "b"', at)).toBe(
      'time="2026-01-02T03:04:05.000Z" level=error msg="a \\"b\\""\n',
    );
  });
});

describe("tskata-runtime errors (no VM)", () => {
  const root = join(scratch, "root");
  const rootEntries = () => (existsSync(root) ? readdirSync(root).sort() : []);

  it("prints its version like runc", () => {
    const r = runtime(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^tskata-runtime version \d+\.\d+\.\d+\nspec: 1\.0\.2\n$/);
  });

  it("fails an unknown command with status 1 and the message on stderr", () => {
    const r = runtime(["frobnicate"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("No help topic for 'frobnicate'\n");
  });

  it("fails create with a missing bundle, leaving nothing under --root", () => {
    const r = runtime(["--root", root, "create", "--bundle", join(scratch, "nope"), "c1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`chdir ${join(scratch, "nope")}: no such file or directory`);
    expect(rootEntries()).toEqual([]);
  });

  it("fails create with a malformed config.json, the error also in the json --log", () => {
    const bundle = join(scratch, "bad-bundle");
    mkdirSync(bundle);
    writeFileSync(join(bundle, "config.json"), "{not json");
    const log = join(scratch, "log.json");
    const r = runtime(["--root", root, "--log", log, "--log-format", "json", "create", "-b", bundle, "c1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`JSON specification file ${join(bundle, "config.json")}:`);
    const entry = JSON.parse(readFileSync(log, "utf8").trim()) as { level: string; msg: string };
    expect(entry.level).toBe("error");
    expect(entry.msg).toContain("JSON specification file");
    expect(rootEntries()).toEqual([]);
  });

  it("fails create with an id in use and leaves the existing container alone", () => {
    const bundle = join(scratch, "good-bundle");
    mkdirSync(bundle);
    writeFileSync(
      join(bundle, "config.json"),
      JSON.stringify({ ociVersion: "1.0.2", process: { args: ["true"] } }),
    );
    mkdirSync(join(root, "taken"), { recursive: true });
    writeFileSync(join(root, "taken", "marker"), "x");
    const r = runtime(["--root", root, "create", "-b", bundle, "taken"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("container with id exists: taken\n");
    expect(readdirSync(join(root, "taken"))).toEqual(["marker"]);
  });

  it("answers state and kill of an unknown container with runc's 'container does not exist'", () => {
    for (const args of [
      ["state", "ghost"],
      ["kill", "ghost", "KILL"],
      ["start", "ghost"],
    ]) {
      const r = runtime(["--root", root, ...args]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("container does not exist\n");
    }
  });

  it("treats delete --force of an unknown container as done, as runc does", () => {
    expect(runtime(["--root", root, "delete", "--force", "ghost"]).code).toBe(0);
    expect(runtime(["--root", root, "delete", "ghost"]).code).toBe(1);
  });
});

describe("tskata-runtime control socket", () => {
  it("binds and answers at a container path longer than sun_path, and leaves nothing beside it", async () => {
    // dockerd's --root plus a 64-hex id plus /ctl is over 108 bytes: the socket used to be bound
    // at a truncated name next to the container's directory and outlive `delete`
    const root = join(scratch, "exec", "runtime-runc", "moby");
    const id = "a".repeat(64);
    const socket = join(root, id, "ctl");
    expect(Buffer.byteLength(socket)).toBeGreaterThan(108);
    mkdirSync(join(root, id), { recursive: true });
    const server = serveControl(socket, async (r) => (r.op === "pids" ? [1, 2] : undefined));
    await new Promise<void>((resolve, reject) => {
      server.once("listening", resolve);
      server.once("error", reject);
    });
    expect(await callControl(socket, { op: "pids" })).toEqual([1, 2]);
    expect(readdirSync(root)).toEqual([id]);
    expect(readdirSync(join(root, id))).toEqual(["ctl"]);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(readdirSync(join(root, id))).toEqual([]);
  });
});

describe("tskata-runtime window size following", () => {
  it("passes each new size on once, skips 0x0, and tries a failed one again", async () => {
    let size = { columns: 0, rows: 0 };
    const applied: string[] = [];
    let failNext = true;
    const errors: unknown[] = [];
    const stop = followWindowSize(
      () => size,
      async (s) => {
        if (s.columns === 111 && failNext) {
          failNext = false;
          throw new Error("not started yet");
        }
        applied.push(`${s.columns}x${s.rows}`);
      },
      (err) => errors.push(err),
      5,
    );
    const settle = () => new Promise((r) => setTimeout(r, 40));
    await settle();
    size = { columns: 111, rows: 33 };
    await settle();
    size = { columns: 80, rows: 24 };
    await settle();
    stop();
    size = { columns: 1, rows: 1 };
    await settle();
    expect(applied).toEqual(["111x33", "80x24"]);
    expect(errors).toHaveLength(1);
  });
});

describe("tskata-runtime reaping after a dead stand-in (no VM)", () => {
  const root = join(scratch, "reap-root");
  const record = (id: string, pid: number): ContainerRecord => ({
    ociVersion: "1.0.2",
    id,
    status: "running",
    pid,
    pidStart: "1",
    bundle: "/nonexistent",
    annotations: {},
    created: new Date(0).toISOString(),
  });

  it("records the container of a dead stand-in as stopped with 137", async () => {
    mkdirSync(join(root, "reap-dead"), { recursive: true });
    writeRecord(root, record("reap-dead", 999_999));
    await reapSandbox({ root, id: "reap-dead", standinPid: 999_999 });
    expect(readRecord(root, "reap-dead")).toMatchObject({ status: "stopped", exitStatus: 137 });
  });

  it("leaves alone a container created again under the same id by another stand-in", async () => {
    mkdirSync(join(root, "reap-again"), { recursive: true });
    writeRecord(root, record("reap-again", 424_242));
    expect(await reapSandbox({ root, id: "reap-again", standinPid: 999_999 })).toEqual([]);
    expect(readRecord(root, "reap-again")).toMatchObject({ status: "running", pid: 424_242 });
  });
});

describe("tskata-runtime spec, features and list (no VM)", () => {
  it("spec writes runc's default config.json, one the guest agent accepts, and never overwrites one", () => {
    const bundle = join(scratch, "spec-bundle");
    mkdirSync(bundle, { recursive: true });
    expect(runtime(["spec", "--bundle", bundle]).code).toBe(0);
    const text = readFileSync(join(bundle, "config.json"), "utf8");
    const doc = parseSpec(text);
    expect(doc.process?.args).toEqual(["sh"]);
    expect(doc.root?.path).toBe("rootfs");
    const again = runtime(["spec", "--bundle", bundle]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("File config.json exists. Remove it first.");
    expect(readFileSync(join(bundle, "config.json"), "utf8")).toBe(text);
  });

  it("features reports the spec versions, namespaces and hooks in the runtime-spec features format", () => {
    const r = runtime(["features"]);
    expect(r.code).toBe(0);
    const f = JSON.parse(r.stdout) as {
      ociVersionMin: string;
      ociVersionMax: string;
      hooks: string[];
      linux: { namespaces: string[] };
    };
    expect(f.ociVersionMin).toBe("1.0.0");
    expect(f.ociVersionMax).toBe("1.0.2");
    expect(f.linux.namespaces.sort()).toEqual(["cgroup", "ipc", "mount", "network", "pid", "uts"]);
    expect(f.hooks).toContain("poststop");
  });

  it("list shows each container under --root as a table, as state JSON and as bare ids", () => {
    const root = join(scratch, "list-root");
    expect(runtime(["--root", root, "list"]).stdout).toBe("ID   PID   STATUS   BUNDLE   CREATED   OWNER\n");
    mkdirSync(join(root, "listed"), { recursive: true });
    writeRecord(root, {
      ociVersion: "1.0.2",
      id: "listed",
      status: "stopped",
      pid: 999_998,
      pidStart: "1",
      bundle: "/bundles/listed",
      annotations: {},
      created: new Date(0).toISOString(),
    });
    const table = runtime(["--root", root, "list"]).stdout.split("\n");
    expect(table[1]).toMatch(/^listed\s+0\s+stopped\s+\/bundles\/listed\s+1970-01-01T00:00:00\.000Z\s+root$/);
    const json = JSON.parse(runtime(["--root", root, "list", "--format", "json"]).stdout) as {
      id: string;
      status: string;
      bundle: string;
    }[];
    expect(json.map((s) => [s.id, s.status, s.bundle])).toEqual([["listed", "stopped", "/bundles/listed"]]);
    expect(runtime(["--root", root, "list", "-q"]).stdout).toBe("listed\n");
  });
});
