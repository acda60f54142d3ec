/**
 * Can KVM run a guest on this host? `/dev/kvm` existing is not enough: under broken nested
 * virtualization KVM_CREATE_VM succeeds but a Linux guest crawls and dies with "KVM internal
 * error". So the probe is the real thing, bounded: boot the configured guest kernel under KVM
 * with no root device and `panic=-1 -no-reboot`, so a healthy guest panics and QEMU exits in well
 * under a second. Not done within the bound (or QEMU fails) = unusable, with the evidence in
 * `reason`. Results are cached per host boot in `<state dir>/kvm-probe.json`, keyed by boot id,
 * QEMU and kernel identity, so the cost is paid once.
 */
import { spawn } from "node:child_process";
import { constants } from "node:fs";
import { access, mkdir, open, readFile, rename, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

export type KvmProbeResult =
  | { usable: true; elapsedMs: number; cached: boolean; method: string }
  | { usable: false; reason: string; elapsedMs: number; cached: boolean; method: string };

export interface KvmProbeOptions {
  qemuPath: string;
  kernel: string;
  machineType: string;
  timeoutMs: number;
  /** Directory for the cache file; no caching when undefined. */
  stateDir: string | undefined;
  devKvm?: string;
}

interface CacheRecord {
  key: string;
  result: KvmProbeResult;
}

const MARKERS = ["Kernel panic", "VFS: Unable to mount root"];

export async function probeKvm(opts: KvmProbeOptions): Promise<KvmProbeResult> {
  const started = performance.now();
  const devKvm = opts.devKvm ?? "/dev/kvm";
  const quick = await quickChecks(devKvm);
  if (quick)
    return { usable: false, reason: quick, elapsedMs: ms(started), cached: false, method: "device check" };

  const cacheFile = opts.stateDir ? join(opts.stateDir, "kvm-probe.json") : undefined;
  const key = await cacheKey(opts);
  if (cacheFile) {
    const cached = await readCache(cacheFile, key);
    if (cached) return { ...cached, cached: true };
  }
  const result = await bootProbe(opts, started);
  if (cacheFile) await writeCache(cacheFile, { key, result }).catch(() => {});
  return result;
}

async function quickChecks(devKvm: string): Promise<string | undefined> {
  try {
    await access(devKvm, constants.F_OK);
  } catch {
    return `${devKvm} does not exist (no KVM module loaded, or no hardware virtualization)`;
  }
  try {
    const handle = await open(devKvm, constants.O_RDWR);
    await handle.close();
  } catch (err) {
    return `cannot open ${devKvm}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
  }
  return undefined;
}

function bootProbe(opts: KvmProbeOptions, started: number): Promise<KvmProbeResult> {
  const method = `boot ${opts.kernel} under KVM (${opts.machineType}), bound ${opts.timeoutMs} ms`;
  const args = [
    ...["-machine", opts.machineType, "-accel", "kvm", "-cpu", "host", "-m", "128M", "-smp", "1"],
    ...["-nodefaults", "-no-user-config", "-nographic", "-no-reboot", "-serial", "stdio"],
    ...["-kernel", opts.kernel, "-append", "console=ttyS0 panic=-1 root=/dev/tskata-kvm-probe-none"],
  ];
  return new Promise((resolve) => {
    const child = spawn(opts.qemuPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8").on("data", (s: string) => {
      output = (output + s).slice(-16_384);
      if (MARKERS.some((m) => output.includes(m))) child.kill("SIGKILL");
    });
    child.stderr.setEncoding("utf8").on("data", (s: string) => {
      stderr = (stderr + s).slice(-4096);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, opts.timeoutMs);
    let finished = false;
    const finish = (spawnError: Error | undefined): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      const elapsedMs = ms(started);
      const reached = MARKERS.some((m) => output.includes(m));
      if (reached) {
        resolve({ usable: true, elapsedMs, cached: false, method });
        return;
      }
      const internal = /KVM internal error[^\n]*/.exec(stderr)?.[0];
      const lastLine = lastConsoleLine(output);
      const parts: string[] = [];
      if (spawnError) parts.push(`cannot run ${opts.qemuPath}: ${spawnError.message}`);
      else if (timedOut) {
        parts.push(
          `a probe guest (${opts.kernel}) did not finish booting under KVM within ${opts.timeoutMs} ms ` +
            `(a working KVM host needs well under a second; typical of broken nested virtualization)`,
        );
      } else parts.push(`QEMU exited before the probe guest finished booting`);
      if (internal) parts.push(`QEMU reported "${internal.trim()}"`);
      else if (!timedOut && stderr.trim())
        parts.push(`QEMU said: ${stderr.trim().split("\n").slice(-3).join(" | ")}`);
      parts.push(
        lastLine ? `last guest console line: ${JSON.stringify(lastLine)}` : "the guest printed nothing",
      );
      resolve({ usable: false, reason: parts.join("; "), elapsedMs, cached: false, method });
    };
    child.once("error", (err) => finish(err));
    child.once("close", () => finish(undefined));
    // A descendant holding QEMU's stdout open must not stretch the probe past QEMU's own exit.
    child.once("exit", () => setTimeout(() => finish(undefined), 200).unref());
  });
}

function lastConsoleLine(console: string): string {
  const lines = console
    .replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1bc/g, "")
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "");
  return (lines.at(-1) ?? "").slice(0, 160);
}

async function cacheKey(opts: KvmProbeOptions): Promise<string> {
  const bootId = (await readFile("/proc/sys/kernel/random/boot_id", "utf8").catch(() => "")).trim();
  const ident = async (p: string): Promise<string> => {
    const s = await stat(p).catch(() => undefined);
    return s ? `${p}:${s.size}:${s.mtimeMs}` : p;
  };
  return [
    bootId,
    await ident(opts.qemuPath),
    await ident(opts.kernel),
    opts.machineType,
    opts.timeoutMs,
  ].join("|");
}

async function readCache(file: string, key: string): Promise<KvmProbeResult | undefined> {
  try {
    const record = JSON.parse(await readFile(file, "utf8")) as CacheRecord;
    return record.key === key ? record.result : undefined;
  } catch {
    return undefined;
  }
}

async function writeCache(file: string, record: CacheRecord): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(record, null, 2));
  await rename(tmp, file);
}

function ms(started: number): number {
  return Math.round(performance.now() - started);
}
