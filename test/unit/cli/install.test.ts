/**
 * `tskata install` / `uninstall` on temp directories standing for a node's root: idempotent,
 * uninstall restores every file byte for byte (or removes what install created), --dry-run
 * changes nothing, conflicts change nothing.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parse } from "smol-toml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { install } from "../../../cli/commands/install.js";
import { uninstall } from "../../../cli/commands/uninstall.js";
import { CliError } from "../../../cli/errors.js";
import { runtimeHandlers } from "../../../cli/install/containerd-handlers.js";

let base: string;
let pkg: string;

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), "tskata-install-"));
  pkg = join(base, "package");
  for (const f of ["dist/shim/main.js", "dist/cli/main.js", "dist/cli/runtime/main.js"]) {
    mkdirSync(join(pkg, f, ".."), { recursive: true });
    writeFileSync(join(pkg, f), "// built\n");
  }
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

let rootCount = 0;
function newRoot(files: Record<string, string> = {}): string {
  const root = join(base, `root${rootCount++}`);
  mkdirSync(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** Every regular file under root with its bytes and mode. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else
        out[relative(root, path)] =
          `${(statSync(path).mode & 0o777).toString(8)} ${readFileSync(path, "latin1")}`;
    }
  };
  walk(root);
  return out;
}

function run(command: typeof install, root: string, extra: string[] = []): string {
  let out = "";
  const code = command(
    ["--root", root, "--package-dir", pkg, "--config-path", "/etc/tskata/configuration.toml", ...extra],
    (t) => {
      out += t;
    },
  );
  expect(code).toBe(0);
  return out;
}

const USER_CONFIG = `# my containerd config, with comments and odd spacing
version = 2

[plugins."io.containerd.grpc.v1.cri".containerd]
  default_runtime_name   =  "runc"   # keep me
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"`; // no final newline on purpose

describe("tskata install / uninstall (containerd)", () => {
  it("with no containerd config: creates it (declaring containerd's default runc beside tskata), changes nothing the second time, and uninstall removes it", () => {
    const root = newRoot();
    const empty = snapshot(root);
    const first = run(install, root);
    expect(first).toContain("created");
    const config = readFileSync(join(root, "etc/containerd/config.toml"), "utf8");
    const handlers = runtimeHandlers(parse(config) as Record<string, unknown>);
    expect(handlers).toEqual([
      {
        name: "tskata",
        runtimeType: "io.containerd.tskata.v2",
        table: 'plugins."io.containerd.grpc.v1.cri".containerd.runtimes.tskata',
        configPath: "/etc/tskata/configuration.toml",
      },
      // naming any runtime drops containerd's built-in runc: the CRI plugin would not load
      {
        name: "runc",
        runtimeType: "io.containerd.runc.v2",
        table: 'plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc',
        configPath: undefined,
      },
    ]);
    const shim = readFileSync(join(root, "usr/local/bin/containerd-shim-tskata-v2"), "utf8");
    expect(shim).toContain(join(pkg, "dist/shim/main.js"));
    expect(statSync(join(root, "usr/local/bin/tskata")).mode & 0o111).toBe(0o111);

    const installed = snapshot(root);
    const second = run(install, root);
    expect(second).not.toMatch(/^(created|updated|removed)/m);
    expect(snapshot(root)).toEqual(installed);

    run(uninstall, root, ["--containerd"]);
    expect(snapshot(root)).toEqual(empty);
  });

  it("with the user's config: appends one block, and uninstall restores the file byte for byte", () => {
    const root = newRoot({ "etc/containerd/config.toml": USER_CONFIG });
    const before = snapshot(root);
    run(install, root, ["--containerd"]);
    const merged = readFileSync(join(root, "etc/containerd/config.toml"), "utf8");
    expect(merged.startsWith(USER_CONFIG)).toBe(true);
    expect(runtimeHandlers(parse(merged) as Record<string, unknown>).map((h) => h.name)).toEqual([
      "runc",
      "tskata",
    ]);
    const installed = snapshot(root);
    run(install, root, ["--containerd"]);
    expect(snapshot(root)).toEqual(installed);
    run(uninstall, root);
    expect(snapshot(root)).toEqual(before);
  });

  it("writes the version 1 table (plugins.cri) into a version 1 config", () => {
    const root = newRoot({ "etc/containerd/config.toml": '[plugins.cri]\n  sandbox_image = "pause"\n' });
    run(install, root);
    const merged = readFileSync(join(root, "etc/containerd/config.toml"), "utf8");
    expect(runtimeHandlers(parse(merged) as Record<string, unknown>)[0]?.table).toBe(
      'plugins."cri".containerd.runtimes.tskata',
    );
  });

  it("--dry-run says what it would do and changes nothing", () => {
    const root = newRoot({ "etc/containerd/config.toml": USER_CONFIG });
    const before = snapshot(root);
    const out = run(install, root, ["--dry-run", "--containerd", "--docker"]);
    expect(out).toContain("would create");
    expect(out).toContain("would update");
    expect(out).toContain("dry run: nothing was changed");
    expect(snapshot(root)).toEqual(before);
    run(install, root);
    const installed = snapshot(root);
    run(uninstall, root, ["--dry-run"]);
    expect(snapshot(root)).toEqual(installed);
  });

  it("refuses to overwrite a file it did not install, and changes nothing", () => {
    const root = newRoot({ "usr/local/bin/tskata": "#!/bin/sh\necho someone else's\n" });
    const before = snapshot(root);
    expect(() => run(install, root)).toThrow(CliError);
    expect(snapshot(root)).toEqual(before);
  });

  it("refuses a config that already defines a different tskata handler", () => {
    const other =
      'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.tskata]\nruntime_type = "io.containerd.runc.v2"\n';
    const root = newRoot({ "etc/containerd/config.toml": other });
    const before = snapshot(root);
    expect(() => run(install, root)).toThrow(/already defines .*runtimes\.tskata/);
    expect(snapshot(root)).toEqual(before);
  });
});

describe("tskata install / uninstall (docker)", () => {
  const DAEMON = '{"log-driver":"json-file",  "runtimes": {"other": {"path": "/usr/bin/other"}}}';

  it("adds the runtimes entry pointing at the tskata-runtime wrapper it installs; uninstall restores the bytes", () => {
    const root = newRoot({ "etc/docker/daemon.json": DAEMON });
    const before = snapshot(root);
    const out = run(install, root, ["--docker"]);
    expect(out).not.toMatch(/warning/);
    const wrapper = readFileSync(join(root, "usr/local/bin/tskata-runtime"), "utf8");
    expect(wrapper).toContain(join(pkg, "dist/cli/runtime/main.js"));
    expect(statSync(join(root, "usr/local/bin/tskata-runtime")).mode & 0o111).toBe(0o111);
    const doc = JSON.parse(readFileSync(join(root, "etc/docker/daemon.json"), "utf8"));
    expect(doc.runtimes).toEqual({
      other: { path: "/usr/bin/other" },
      tskata: { path: "/usr/local/bin/tskata-runtime" },
    });
    expect(doc["log-driver"]).toBe("json-file");
    const installed = snapshot(root);
    run(install, root, ["--docker"]);
    expect(snapshot(root)).toEqual(installed);
    run(uninstall, root, ["--docker"]);
    expect(snapshot(root)).toEqual(before);
  });

  it("removes a daemon.json it created", () => {
    const root = newRoot();
    const before = snapshot(root);
    run(install, root, ["--docker", "--containerd"]);
    expect(
      JSON.parse(readFileSync(join(root, "etc/docker/daemon.json"), "utf8")).runtimes.tskata,
    ).toBeDefined();
    run(uninstall, root);
    expect(snapshot(root)).toEqual(before);
  });
});
