/**
 * A private containerd 1.6 with its CRI plugin, for tests that act as the kubelet: its own root,
 * state and sockets (cli/demo/private-containerd.ts), CNI pod networking on a bridge and /24 of
 * its own (10.223.X.0/24, only ever reachable from this host), the runtime handlers `runc` and
 * `tskata`, and a locally built busybox and pause image in the `k8s.io` namespace. `stop()`
 * removes every pod through CRI, stops containerd by its PID and removes what CNI left on the
 * host: the bridge, iptables rules and chains of this network, the IPAM data and result cache.
 */
import { execFile } from "node:child_process";
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
import { promisify } from "node:util";
import { type BusyboxImageConfig, buildBusyboxImage } from "../../../cli/demo/busybox-image.js";
import { type ContainerdFixture, startContainerd } from "../../../cli/demo/private-containerd.js";
import { makeShimBinDir } from "../../../cli/demo/tskata-containerd.js";
import { processLines } from "../leftovers.js";
import { type CriClient, connectCri } from "./cri-client.js";
import { firewallRulesMentioning, removeFirewallLeftovers, snapshotFirewall } from "./host-firewall.js";

const run = promisify(execFile);

export const CRI_NAMESPACE = "k8s.io";
export const BUSYBOX_IMAGE = "localhost/busybox:latest";
export const PAUSE_IMAGE = "localhost/tskata-pause:1";
export const CNI_BIN_DIR = "/usr/lib/cni";
/** libcni's default cache of ADD results (containerd 1.6 does not move it). */
const CNI_CACHE_DIR = "/var/lib/cni";
const CNI_RESULT_CACHE = `${CNI_CACHE_DIR}/results`;
/** Without a pod cgroup_parent, containerd puts containers under /<namespace> in each hierarchy. */
const CGROUP_ROOT = "/sys/fs/cgroup";

/** Host paths the CRI plugin and CNI create on first use, children before parents. */
export function sharedHostPaths(): string[] {
  const cgroupDirs = existsSync(join(CGROUP_ROOT, "cgroup.controllers"))
    ? [join(CGROUP_ROOT, CRI_NAMESPACE)]
    : readdirSync(CGROUP_ROOT).map((hierarchy) => join(CGROUP_ROOT, hierarchy, CRI_NAMESPACE));
  return [...cgroupDirs, CNI_RESULT_CACHE, CNI_CACHE_DIR];
}

export interface CriContainerdOptions {
  /** `options.ConfigPath` of the `tskata` runtime handler. */
  tskataConfigPath?: string;
  /** Compile the shim first so `containerd-shim-tskata-v2` is current (default false: runc-only tests). */
  buildShim?: boolean;
}

export interface CriContainerd {
  containerd: ContainerdFixture;
  cri: CriClient;
  /** containerd's gRPC socket (CRI listens there too). */
  address: string;
  /** Scratch space removed by stop(): pod log directories, host volumes. */
  scratch: string;
  /** Holds the CNI conflist, host-local's IP allocations and runc's state. */
  networkDir: string;
  networkName: string;
  bridge: string;
  /** e.g. "10.223.17.0/24"; its ".1" is the bridge (the pods' gateway). */
  subnet: string;
  /** Which of sharedHostPaths() existed before this instance started (it removes the others). */
  sharedPathsBefore: ReadonlySet<string>;
  /** Stops everything and removes what it left; rejects listing what could not be removed. */
  stop(): Promise<void>;
}

export type CriHarnessErrorCode =
  | "CRI_NO_FREE_SUBNET"
  | "CRI_BRIDGE_EXISTS"
  | "CRI_NOT_READY"
  | "CRI_CLEANUP_FAILED";

export class CriHarnessError extends Error {
  override readonly name = "CriHarnessError";
  constructor(
    readonly code: CriHarnessErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** What this network's iptables rules contain: its bridge, its pods' addresses, its name (portmap comments). */
export function networkMarks(n: { bridge: string; subnet: string; networkName: string }): string[] {
  return [n.bridge, n.subnet.replace(/0\/24$/, ""), n.networkName];
}

/** A /24 under 10.223/16 no route or address of this host touches yet. */
async function freeSubnet(): Promise<string> {
  const { stdout } = await run("ip", ["-4", "route", "show", "table", "all"]);
  for (let attempt = 0; attempt < 64; attempt++) {
    const x = 1 + Math.floor(Math.random() * 254);
    if (!stdout.includes(`10.223.${x}.`)) return `10.223.${x}.0/24`;
  }
  throw new CriHarnessError("CRI_NO_FREE_SUBNET", "every 10.223.X.0/24 tried is in use on this host");
}

async function linkExists(name: string): Promise<boolean> {
  try {
    await run("ip", ["link", "show", "dev", name]);
    return true;
  } catch {
    return false;
  }
}

/**
 * bridge + host-local + portmap. No default route in the pods and no masquerading: pod traffic
 * stays between the pods and this host. No `loopback` entry: the CRI plugin brings `lo` up itself
 * (go-cni's loopback network, with the same plugin from bin_dir) before this list runs.
 */
function conflist(name: string, bridge: string, subnet: string, dataDir: string): string {
  return JSON.stringify(
    {
      cniVersion: "1.0.0",
      name,
      plugins: [
        {
          type: "bridge",
          bridge,
          isGateway: true,
          ipMasq: false,
          ipam: { type: "host-local", ranges: [[{ subnet }]], dataDir },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

function criConfig(o: { networkConfDir: string; tskataConfigPath: string; runcRoot: string }): string {
  const cri = '[plugins."io.containerd.grpc.v1.cri"';
  return `
${cri}]
  sandbox_image = "${PAUSE_IMAGE}"
  netns_mounts_under_state_dir = true
  # This host denies raising oom_score_adj (no CAP_SYS_RESOURCE): the sandbox's -998 fails in runc.
  restrict_oom_score_adj = true
${cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
${cri}.containerd.runtimes.runc.options]
  Root = "${o.runcRoot}"
${cri}.containerd.runtimes.tskata]
  runtime_type = "io.containerd.tskata.v2"
${cri}.containerd.runtimes.tskata.options]
  ConfigPath = "${o.tskataConfigPath}"
${cri}.cni]
  bin_dir = "${CNI_BIN_DIR}"
  conf_dir = "${o.networkConfDir}"
  max_conf_num = 1
`;
}

/** Mount points at or below `dir`, deepest first (from this process's mount table). */
export function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) =>
      (l.split(" ")[4] ?? "").replace(/\\([0-7]{3})/g, (_, o: string) =>
        String.fromCharCode(Number.parseInt(o, 8)),
      ),
    )
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Processes (other than this one) whose command line mentions `needle`. */
export function processesMentioning(needle: string): string[] {
  return processLines().filter((line) => line.includes(needle));
}

export async function startCriContainerd(opts: CriContainerdOptions = {}): Promise<CriContainerd> {
  const firewallBefore = await snapshotFirewall();
  const sharedPathsBefore = new Set(sharedHostPaths().filter((p) => existsSync(p)));
  const forwardingBefore = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();
  const suffix = Math.random().toString(16).slice(2, 6).padEnd(4, "0");
  const bridge = `tsk${suffix}`;
  if (await linkExists(bridge))
    throw new CriHarnessError("CRI_BRIDGE_EXISTS", `link ${bridge} already exists`);
  const networkName = `tskata-cri-${suffix}`;
  const subnet = await freeSubnet();
  const networkDir = mkdtempSync(join(tmpdir(), "tskata-cni-"));
  const networkConfDir = join(networkDir, "net.d");
  mkdirSync(networkConfDir);
  writeFileSync(
    join(networkConfDir, "10-tskata.conflist"),
    conflist(networkName, bridge, subnet, join(networkDir, "host-local")),
  );
  const scratch = mkdtempSync(join(tmpdir(), "tskata-cri-"));
  const binDir = makeShimBinDir({ build: opts.buildShim ?? false });

  let containerd: ContainerdFixture | undefined;
  let cri: CriClient | undefined;
  const stop = async () => {
    const problems: string[] = [];
    const attempt = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        problems.push(`${what}: ${(err as Error).message}`);
      }
    };
    if (cri) {
      const client = cri;
      await attempt("remove pods", async () => {
        const { items } = await client.runtime.listPodSandbox({});
        for (const pod of items) {
          await client.runtime.stopPodSandbox({ podSandboxId: pod.id }, { timeoutMs: 60_000 });
          await client.runtime.removePodSandbox({ podSandboxId: pod.id }, { timeoutMs: 60_000 });
        }
      });
      client.close();
    }
    if (containerd) {
      const ctrd = containerd;
      const address = ctrd.grpcAddress;
      // Shims outlive containerd: any still serving this instance were left by a failed removal.
      for (const shim of processesMentioning(`-address ${address} `)) {
        problems.push(`shim still running: ${shim}`);
        process.kill(Number(shim.split(" ")[0]), "SIGKILL");
      }
      await attempt("stop containerd", async () => {
        for (const m of mountsUnder(ctrd.dir)) await run("umount", ["-l", m]);
        await ctrd.stop();
      });
    }
    await attempt("remove bridge", async () => {
      if (await linkExists(bridge)) await run("ip", ["link", "del", "dev", bridge]);
    });
    await attempt("remove iptables rules", () =>
      removeFirewallLeftovers(firewallBefore, networkMarks({ bridge, subnet, networkName })),
    );
    await attempt("restore ip_forward", async () => {
      const now = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();
      if (now !== forwardingBefore) writeFileSync("/proc/sys/net/ipv4/ip_forward", forwardingBefore);
    });
    if (existsSync(CNI_RESULT_CACHE)) {
      for (const f of readdirSync(CNI_RESULT_CACHE)) {
        if (f.startsWith(`${networkName}-`)) rmSync(join(CNI_RESULT_CACHE, f), { force: true });
      }
    }
    // Created by this instance (absent before it started) and empty again now: rmdir refuses otherwise.
    for (const p of sharedHostPaths().filter((p) => !sharedPathsBefore.has(p) && existsSync(p))) {
      await attempt(`remove ${p}`, () => run("rmdir", [p]));
    }
    for (const dir of [networkDir, scratch, binDir]) {
      const mounted = mountsUnder(dir);
      if (mounted.length > 0) problems.push(`still mounted under ${dir}: ${mounted.join(", ")}`);
      else rmSync(dir, { recursive: true, force: true });
    }
    if (problems.length > 0) throw new CriHarnessError("CRI_CLEANUP_FAILED", `\n${problems.join("\n")}`);
  };

  try {
    containerd = await startContainerd({
      cri: true,
      pathPrefix: [binDir],
      extraConfig: criConfig({
        networkConfDir,
        tskataConfigPath: opts.tskataConfigPath ?? "/etc/tskata/configuration.toml",
        // runc's state (default /run/containerd/runc/<namespace>) stays with this instance.
        runcRoot: join(networkDir, "runc"),
      }),
    });
    const images: [string, BusyboxImageConfig][] = [
      [BUSYBOX_IMAGE, { cmd: ["sh"] }],
      // The sandbox ("pause") container: sleeps until CRI kills it.
      [PAUSE_IMAGE, { entrypoint: ["/bin/sleep", "2147483647"] }],
    ];
    for (const [name, config] of images) {
      const tar = join(scratch, "image.tar");
      buildBusyboxImage(tar, name, config);
      await containerd.ctr(["-n", CRI_NAMESPACE, "images", "import", tar]);
      rmSync(tar);
    }
    cri = connectCri(containerd.grpcAddress);
    await cri.ready();
    await waitCriReady(cri);
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
  return {
    containerd,
    cri,
    address: containerd.grpcAddress,
    scratch,
    networkDir,
    networkName,
    bridge,
    subnet,
    sharedPathsBefore,
    stop,
  };
}

/** Until the runtime and its network report ready and CRI's image cache holds both images. */
async function waitCriReady(cri: CriClient, withinMs = 20_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  let last = "";
  for (;;) {
    const status = await cri.runtime.status({});
    const notReady = (status.status?.conditions ?? []).filter((c) => !c.status);
    const missing: string[] = [];
    for (const image of [BUSYBOX_IMAGE, PAUSE_IMAGE]) {
      if (!(await cri.image.imageStatus({ image: { image } })).image) missing.push(image);
    }
    if (notReady.length === 0 && missing.length === 0) return;
    last = [
      ...notReady.map((c) => `${c.type}: ${c.reason} ${c.message}`),
      ...missing.map((i) => `image ${i} missing`),
    ].join("; ");
    if (Date.now() > deadline)
      throw new CriHarnessError("CRI_NOT_READY", `not ready within ${withinMs} ms: ${last}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** What a stopped harness could have left on the host: links, iptables, processes, dirs. */
export async function criLeftovers(h: CriContainerd): Promise<string[]> {
  const left: string[] = [];
  if (await linkExists(h.bridge)) left.push(`link: ${h.bridge}`);
  left.push(...(await firewallRulesMentioning(networkMarks(h))).map((r) => `firewall: ${r}`));
  for (const p of sharedHostPaths())
    if (!h.sharedPathsBefore.has(p) && existsSync(p)) left.push(`host path: ${p}`);
  left.push(...processesMentioning(h.containerd.dir).map((p) => `process: ${p}`));
  for (const dir of [h.containerd.dir, h.networkDir, h.scratch])
    if (existsSync(dir)) left.push(`dir: ${dir}`);
  if (existsSync(CNI_RESULT_CACHE)) {
    for (const f of readdirSync(CNI_RESULT_CACHE))
      if (f.startsWith(`${h.networkName}-`)) left.push(`cni cache: ${f}`);
  }
  return left;
}
