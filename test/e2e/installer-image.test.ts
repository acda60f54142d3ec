/**
 * The cluster installer image (docs/deploy.md), run as the DaemonSet would run it but with
 * `ctr run` against a scratch directory standing for the node's root: it lays down /opt/tskata,
 * the wrappers and containerd's handler; a second containerd then loads exactly that config.toml
 * (only its root, state and sockets moved to a temp dir) with the laid-down wrappers on its PATH
 * and /opt as the scratch root's (a private mount namespace), and runs a tskata container from
 * them; `uninstall-once` then restores the scratch root. One VM boot.
 */
import { execFileSync } from "node:child_process";
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
import { join, relative } from "node:path";
import { parse as parseToml } from "smol-toml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBusyboxImage } from "../../cli/demo/busybox-image.js";
import { type ContainerdFixture, startContainerd } from "../../cli/demo/private-containerd.js";
import { IMAGE, RUNTIME } from "../../cli/demo/tskata-containerd.js";
import { runtimeHandlers, TSKATA_RUNTIME_TYPE } from "../../cli/install/containerd-handlers.js";
import { buildInstallerImage, type InstallerImage } from "../../cli/installer/build.js";
import { packageRoot } from "../../shim/config/paths.js";

const VM_MS = 240_000;
const SEED_CONFIG =
  'version = 2\n# this node\'s own containerd settings\n[plugins."io.containerd.grpc.v1.cri".cni]\n  bin_dir = "/usr/lib/cni"\n';

let work: string;
let scratch: string;
let image: InstallerImage;
let hostCtrd: ContainerdFixture | undefined;
let nodeCtrd: ContainerdFixture | undefined;

beforeAll(async () => {
  const repoRoot = packageRoot()!;
  execFileSync(join(repoRoot, "node_modules/.bin/tsc"), ["-p", "tsconfig.build.json"], { cwd: repoRoot });
  work = mkdtempSync(join(tmpdir(), "tskata-installer-e2e-"));
  image = await buildInstallerImage(repoRoot, join(work, "image"));
  scratch = join(work, "node-root");
  mkdirSync(join(scratch, "etc/containerd"), { recursive: true });
  writeFileSync(join(scratch, "etc/containerd/config.toml"), SEED_CONFIG);
  hostCtrd = await startContainerd();
  await hostCtrd.ctr(["images", "import", image.tar], { timeoutMs: 180_000 });
}, 300_000);

afterAll(async () => {
  await nodeCtrd?.stop();
  await hostCtrd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs the installer image (runc) with the scratch root as /host. */
const deploy = (mode: string) =>
  hostCtrd!.exec(
    [
      "run",
      "--rm",
      "--mount",
      `type=bind,src=${scratch},dst=/host,options=rbind:rw`,
      "--env",
      "RESTART_CONTAINERD=false",
      image.name,
      `installer-${mode}`,
      "/opt/tskata/bin/tskata-deploy",
      mode,
    ],
    { timeoutMs: 120_000 },
  );

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => !e.isDirectory())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe("the installer image against a scratch node root", () => {
  it("is imported under localhost/tskata-installer:<package version>", async () => {
    const version = (
      JSON.parse(readFileSync(join(packageRoot()!, "package.json"), "utf8")) as { version: string }
    ).version;
    expect(image.name).toBe(`localhost/tskata-installer:${version}`);
    expect(await hostCtrd!.ctr(["images", "ls", "-q"])).toContain(image.name);
  });

  it("install-once lays down /opt/tskata, wrappers running the node's copy, and the handler merged after the node's own config", async () => {
    const r = await deploy("install-once");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("RESTART_CONTAINERD=false: not restarting containerd");
    expect(r.stdout).toContain("NODE_NAME is not set: label the node yourself");
    expect(r.stdout).toMatch(/tskata-deploy: installed\n$/);
    for (const f of [
      "node/bin/node",
      "dist/shim/main.js",
      "package.json",
      "configuration.toml",
      "build/guest/manifest.json",
    ])
      expect(existsSync(join(scratch, "opt/tskata", f)), f).toBe(true);
    expect(existsSync(join(scratch, "opt/tskata/node_modules/koffi/package.json"))).toBe(true);
    expect(readFileSync(join(scratch, "usr/local/bin/containerd-shim-tskata-v2"), "utf8")).toContain(
      "exec '/opt/tskata/node/bin/node' '/opt/tskata/dist/shim/main.js' \"$@\"",
    );
    const config = readFileSync(join(scratch, "etc/containerd/config.toml"), "utf8");
    expect(config.startsWith(SEED_CONFIG)).toBe(true);
    // the seed declares no runtime: the block declares containerd's runc too (docs/deploy.md)
    expect(
      runtimeHandlers(parseToml(config) as Record<string, unknown>).map((h) => [
        h.name,
        h.runtimeType,
        h.configPath,
      ]),
    ).toEqual([
      ["tskata", TSKATA_RUNTIME_TYPE, "/opt/tskata/configuration.toml"],
      ["runc", "io.containerd.runc.v2", undefined],
    ]);
  }, 180_000);

  it(
    "a containerd running the generated config.toml with the laid-down wrappers runs a tskata container from them",
    async () => {
      const config = readFileSync(join(scratch, "etc/containerd/config.toml"), "utf8");
      const handler = runtimeHandlers(parseToml(config) as Record<string, unknown>).find(
        (h) => h.name === "tskata",
      )!;
      nodeCtrd = await startContainerd({
        baseConfig: config,
        pathPrefix: [join(scratch, "usr/local/bin")],
        // The node's /opt is the scratch root's: the paths install wrote are the node's paths.
        wrapper: [
          "unshare",
          "-m",
          "--propagation",
          "private",
          "sh",
          "-c",
          'mount --bind "$0" /opt && exec "$@"',
          join(scratch, "opt"),
        ],
      });
      // containerd's CRI plugin loaded the handler table as written
      expect(nodeCtrd.log()).toMatch(/tskata:\{Type:io\.containerd\.tskata\.v2/);
      const busybox = buildBusyboxImage(join(work, "busybox.tar"));
      await nodeCtrd.ctr(["images", "import", busybox]);
      const r = await nodeCtrd.exec(
        [
          "run",
          "--rm",
          "--runtime",
          RUNTIME,
          "--runtime-config-path",
          handler.configPath!,
          IMAGE,
          "probe",
          "uname",
          "-r",
        ],
        { timeoutMs: VM_MS },
      );
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^6\.1\.0-.*-cloud-amd64\n$/);
      await nodeCtrd.stop();
      nodeCtrd = undefined;
    },
    VM_MS + 60_000,
  );

  it("uninstall-once restores the node's config byte for byte and removes /opt/tskata and the wrappers", async () => {
    const r = await deploy("uninstall-once");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/uninstalled\n$/);
    expect(readFileSync(join(scratch, "etc/containerd/config.toml"), "utf8")).toBe(SEED_CONFIG);
    expect(filesUnder(scratch)).toEqual(["etc/containerd/config.toml"]);
  }, 180_000);
});
