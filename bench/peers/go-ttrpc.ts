/**
 * Builds the Go ttrpc peer (test/interop/go-ttrpc/main.go) against Debian's
 * golang-github-containerd-ttrpc-dev, offline (GOPATH mode), once per source change.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
// Two levels up from bench/peers/ (source) or dist/bench/peers/ (compiled) is not the same root: find package.json.
const repoRoot = findRepoRoot(dirname(fileURLToPath(import.meta.url)));
const source = join(repoRoot, "test/interop/go-ttrpc/main.go");
const debianGopath = "/usr/share/gocode";

export async function buildGoTtrpcPeer(): Promise<string> {
  if (!existsSync(join(debianGopath, "src/github.com/containerd/ttrpc"))) {
    throw new Error(
      "Go ttrpc sources missing: install Debian packages golang-go and golang-github-containerd-ttrpc-dev",
    );
  }
  const hash = createHash("sha256").update(readFileSync(source)).digest("hex").slice(0, 16);
  const root = join(repoRoot, "build/go-ttrpc");
  const binary = join(root, `go-ttrpc-${hash}`);
  if (existsSync(binary)) return binary;
  const pkgDir = join(root, "gopath/src/tskata-go-ttrpc");
  mkdirSync(pkgDir, { recursive: true });
  copyFileSync(source, join(pkgDir, "main.go"));
  await run("go", ["build", "-o", binary, "."], {
    cwd: pkgDir,
    env: {
      ...process.env,
      GO111MODULE: "off",
      GOFLAGS: "",
      GOPATH: `${join(root, "gopath")}:${debianGopath}`,
      GOCACHE: join(root, "cache"),
    },
  });
  return binary;
}

function findRepoRoot(start: string): string {
  for (let dir = start; dir !== "/"; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "test/interop/go-ttrpc"))) return dir;
  }
  throw new Error(`cannot find the tskata repository above ${start}`);
}
