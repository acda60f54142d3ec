/**
 * The KVM probe's decisions, driven by stand-in QEMU scripts (failpoint style: each script is
 * one behaviour of a real QEMU); the real broken-KVM case runs in test/integration.
 */
import { chmodSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { chooseAccel } from "../../../../shim/hypervisor/accel.js";
import { probeKvm } from "../../../../shim/hypervisor/accel-probe.js";

const dir = mkdtempSync(join(tmpdir(), "tskata-probe-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const kernel = join(dir, "vmlinuz");
writeFileSync(kernel, "kernel");
const devKvm = join(dir, "kvm"); // any openable file stands in for /dev/kvm
writeFileSync(devKvm, "");

function fakeQemu(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

const healthy = fakeQemu(
  "qemu-healthy",
  'echo "[    0.3] VFS: Unable to mount root fs on unknown-block(0,0)"; echo "[    0.3] Kernel panic - not syncing: VFS"; sleep 5',
);
const internalError = fakeQemu(
  "qemu-internal",
  'echo "Probing EDD (edd=off to disable)... ok"; echo "KVM internal error. Suberror: 1" >&2; echo "emulation failure" >&2; exit 1',
);
const hangs = fakeQemu(
  "qemu-hangs",
  'printf "\\033c\\033[2JSeaBIOS (version 1.16)\\r\\nBooting from ROM...\\r\\n"; exec sleep 30',
);
const refuses = fakeQemu(
  "qemu-refuses",
  'echo "qemu-system-x86_64: failed to initialize kvm: Permission denied" >&2; exit 1',
);

const base = { kernel, machineType: "q35", stateDir: undefined, devKvm };

describe("probeKvm", () => {
  it("a guest kernel that reaches its root-mount panic means KVM works (stopped at the marker)", async () => {
    const r = await probeKvm({ ...base, qemuPath: healthy, timeoutMs: 4000 });
    expect(r).toMatchObject({ usable: true, cached: false });
    expect(r.elapsedMs).toBeLessThan(3000);
  });

  it("quotes a KVM internal error and the last console line", async () => {
    const r = await probeKvm({ ...base, qemuPath: internalError, timeoutMs: 4000 });
    expect(r.usable).toBe(false);
    if (r.usable) return;
    expect(r.reason).toBe(
      'QEMU exited before the probe guest finished booting; QEMU reported "KVM internal error. Suberror: 1"; ' +
        'last guest console line: "Probing EDD (edd=off to disable)... ok"',
    );
  });

  it("a guest that does not get there in time is unusable, bounded by the timeout", async () => {
    const r = await probeKvm({ ...base, qemuPath: hangs, timeoutMs: 300 });
    expect(r.usable).toBe(false);
    if (r.usable) return;
    expect(r.elapsedMs).toBeLessThan(2000);
    expect(r.reason).toMatch(/did not finish booting under KVM within 300 ms/);
    expect(r.reason).toContain('last guest console line: "Booting from ROM..."');
  });

  it("QEMU's own complaint is quoted", async () => {
    const r = await probeKvm({ ...base, qemuPath: refuses, timeoutMs: 2000 });
    expect(r.usable || r.reason).toBe(
      "QEMU exited before the probe guest finished booting; QEMU said: qemu-system-x86_64: failed to initialize kvm: Permission denied; the guest printed nothing",
    );
  });

  it("no /dev/kvm: decided without running QEMU", async () => {
    const r = await probeKvm({
      ...base,
      qemuPath: "/nonexistent",
      timeoutMs: 2000,
      devKvm: join(dir, "none"),
    });
    expect(r).toMatchObject({ usable: false, method: "device check" });
    expect(r.usable || r.reason).toContain("does not exist");
  });

  it("caches per host boot, QEMU and kernel; a changed kernel probes again", async () => {
    const stateDir = join(dir, "state");
    const first = await probeKvm({ ...base, stateDir, qemuPath: hangs, timeoutMs: 200 });
    const second = await probeKvm({ ...base, stateDir, qemuPath: hangs, timeoutMs: 200 });
    expect([first.cached, second.cached]).toEqual([false, true]);
    utimesSync(kernel, new Date(), new Date(Date.now() + 10_000));
    const third = await probeKvm({ ...base, stateDir, qemuPath: hangs, timeoutMs: 200 });
    expect(third.cached).toBe(false);
  });
});

describe("chooseAccel", () => {
  const lines: string[] = [];
  const log = pino({ level: "info" }, { write: (s: string) => void lines.push(s) });
  const probe = { ...base, qemuPath: refuses, timeoutMs: 2000 };

  it("tcg never probes; auto falls back with one warning; kvm throws KVM_UNUSABLE", async () => {
    expect(await chooseAccel("tcg", { ...probe, qemuPath: "/nonexistent" }, log)).toEqual({
      accel: "tcg",
      probe: undefined,
    });
    expect((await chooseAccel("auto", probe, log)).accel).toBe("tcg");
    expect((await chooseAccel("auto", probe, log)).accel).toBe("tcg");
    expect(lines.filter((l) => l.includes("falling back to TCG"))).toHaveLength(1);
    await expect(chooseAccel("kvm", probe, log)).rejects.toMatchObject({
      code: "KVM_UNUSABLE",
      message: expect.stringMatching(
        /^hypervisor.accel = "kvm" but KVM cannot run a guest on this host: QEMU exited/,
      ),
    });
    expect((await chooseAccel("kvm", { ...probe, qemuPath: healthy }, log)).accel).toBe("kvm");
  });
});
