/**
 * The host never executes anything from the guest or the image: every place the shim starts a
 * process is listed here with where the program's path comes from, and none of them is a path
 * the guest or the container image controls. A new call site fails this test until it is
 * reviewed and added (docs/reliability.md, threat model).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../../..");

/**
 * file → the program expression of each call (the first argument), and why that path is the
 * host's own (configuration, containerd, this package) and never the guest's or the image's.
 */
const REVIEWED: Record<string, { programs: string[]; why: string }> = {
  "shim/hypervisor/qemu/qemu-hypervisor.ts": {
    programs: ["command"],
    why: "QEMU: hypervisor.path of the host's configuration (through nsenter with a pod network, unshare without)",
  },
  "shim/hypervisor/accel-probe.ts": {
    programs: ["opts.qemuPath"],
    why: "QEMU for the KVM probe: hypervisor.path",
  },
  "shim/hypervisor/virtiofsd.ts": { programs: ["opts.path"], why: "virtiofsd: hypervisor.virtiofsd_path" },
  "shim/hypervisor/gated-spawn.ts": {
    programs: ['"/bin/sh"'],
    why: "the gate: a fixed script that execs its caller's program, each caller reviewed here",
  },
  "shim/launch/start.ts": {
    programs: ["process.execPath"],
    why: "the shim daemon: this Node binary and package",
  },
  "shim/network/netns-exec.ts": {
    programs: ['"nsenter"'],
    why: "nsenter + ip/tc, fixed names on the host's PATH",
  },
  "shim/pool/watchdog.ts": {
    programs: ['"/bin/sh"'],
    why: "the pool reaper: a fixed script of this package",
  },
  "shim/task/oci-hooks.ts": {
    programs: ["hook.path"],
    why: "OCI host hooks: paths in the bundle's config.json, written by containerd on the host (runc runs them too)",
  },
  "shim/task/io-bridge.ts": {
    programs: ["bin.path"],
    why: "binary:// stdio loggers: the URI containerd's client gave on the host",
  },
};

/** The names a file imports (as values, not types) that start a process: node:child_process's, and the gate's. */
function childProcessImports(text: string): string[] {
  return [...text.matchAll(/import \{([^}]*)\} from "(node:child_process|[./]*gated-spawn\.js)"/g)].flatMap(
    (m) =>
      m[1]!
        .split(",")
        .map((n) => n.trim())
        .filter((n) => n !== "" && !n.startsWith("type "))
        .map((n) => n.split(" as ").at(-1)!.trim())
        .filter((n) => /^(spawn|spawnSync|execFile|execFileSync|exec|execSync|fork|spawnGated)$/.test(n)),
  );
}

/** The first argument of every call of those names (and of promisified aliases). */
function programsOf(text: string): string[] {
  const names = childProcessImports(text);
  const aliases = [...text.matchAll(/const (\w+) = promisify\((\w+)\)/g)]
    .filter((a) => names.includes(a[2]!))
    .map((a) => a[1]!);
  const calls = [...names, ...aliases].join("|");
  if (calls === "") return [];
  return [...text.matchAll(new RegExp(`\\b(?:${calls})\\(\\s*([^,\\n]+),`, "g"))].map((c) => c[1]!.trim());
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

describe("host execution sites", () => {
  const found = new Map(
    ["shim", "native", "protocol"]
      .flatMap((d) => sources(join(ROOT, d)))
      .map((f) => [relative(ROOT, f), programsOf(readFileSync(f, "utf8"))] as const)
      .filter(([, programs]) => programs.length > 0),
  );

  it("only the reviewed files of the shim, native and protocol code start processes", () => {
    expect([...found.keys()].sort()).toEqual(Object.keys(REVIEWED).sort());
  });

  it("each starts only the reviewed program: the host's configuration, containerd's request or this package", () => {
    for (const [file, programs] of found) {
      expect({ file, programs: [...new Set(programs)].sort() }).toEqual({
        file,
        programs: REVIEWED[file]?.programs,
      });
    }
  });
});
