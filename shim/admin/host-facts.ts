/**
 * What the host knows of a sandbox's processes: the QEMU and virtiofsd pids its resource record
 * holds, the accelerator QEMU runs with (from its command line), and each process's PSS.
 */
import { readFile } from "node:fs/promises";
import { SandboxResources } from "../hypervisor/sandbox-resources.js";
import { pssKiB } from "../pool/process-memory.js";

export interface HostProcess {
  role: "qemu" | "virtiofsd" | "shim";
  pid: number;
  pssBytes: number;
}

export interface HostFacts {
  qemuPid: number;
  virtiofsdPid: number;
  accel: string;
  processes: HostProcess[];
  /** Sum of the processes' PSS. */
  pssBytes: number;
}

/** `-accel tcg`, `-accel kvm,…` or `-machine …,accel=kvm` in a QEMU argv; "" when absent. */
export function accelFromArgv(argv: readonly string[]): string {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-accel" || arg === "--accel") return (argv[i + 1] ?? "").split(",")[0] ?? "";
    if (arg === "-machine" || arg === "-M") {
      const m = /(?:^|,)accel=([a-z]+)/.exec(argv[i + 1] ?? "");
      if (m) return m[1]!;
    }
    if (arg === "-enable-kvm") return "kvm";
  }
  return "";
}

async function argvOf(pid: number): Promise<string[]> {
  const raw = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  return raw.split("\0").filter((a) => a !== "");
}

export async function hostFacts(
  stateDir: string,
  sandboxId: string,
  shimPid = process.pid,
): Promise<HostFacts> {
  const record = await SandboxResources.load(stateDir, sandboxId).catch(() => undefined);
  const pidOf = (role: "qemu" | "virtiofsd") => record?.processes.find((p) => p.role === role)?.pid ?? 0;
  const qemuPid = pidOf("qemu");
  const virtiofsdPid = pidOf("virtiofsd");
  const processes: HostProcess[] = [];
  for (const [role, pid] of [
    ["qemu", qemuPid],
    ["virtiofsd", virtiofsdPid],
    ["shim", shimPid],
  ] as const) {
    if (pid > 0) processes.push({ role, pid, pssBytes: (await pssKiB(pid)) * 1024 });
  }
  return {
    qemuPid,
    virtiofsdPid,
    accel: qemuPid > 0 ? accelFromArgv(await argvOf(qemuPid)) : "",
    processes,
    pssBytes: processes.reduce((sum, p) => sum + p.pssBytes, 0),
  };
}
