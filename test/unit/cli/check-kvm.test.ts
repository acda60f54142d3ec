/**
 * The KVM verdict for each state the probe can meet, with the real probe (shim/hypervisor/
 * accel-probe.ts) run on faked inputs: a device path and a stand-in QEMU script. No VM boots.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkKvm } from "../../../cli/check/kvm.js";
import type { AccelSetting } from "../../../shim/config/types.js";
import { probeKvm } from "../../../shim/hypervisor/accel-probe.js";

let dir: string;
let devKvm: string;
let kernel: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tskata-check-kvm-"));
  mkdirSync(join(dir, "dev"));
  devKvm = join(dir, "dev", "kvm");
  kernel = join(dir, "vmlinuz");
  writeFileSync(kernel, "not a kernel");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in for QEMU: a shell script printing what a real one would. */
function fakeQemu(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

function kvmCheck(accel: AccelSetting, qemuPath: string) {
  return checkKvm({
    accel,
    probe: () =>
      probeKvm({ qemuPath, kernel, machineType: "q35", timeoutMs: 3000, stateDir: undefined, devKvm }),
  });
}

describe("tskata check: kvm", () => {
  it("warns naming the missing /dev/kvm and that TCG will be used when the device is absent", async () => {
    rmSync(devKvm, { force: true });
    const result = await kvmCheck("auto", fakeQemu("qemu-unused", "exit 0"));
    expect(result.status).toBe("warn");
    expect(result.detail).toContain(`${devKvm} does not exist`);
    expect(result.detail).toMatch(/\/dev\/kvm/);
    expect(result.detail).toContain("TCG");
  });

  it("warns with the probe's reason and TCG when /dev/kvm is present but cannot run a guest", async () => {
    writeFileSync(devKvm, "");
    const qemu = fakeQemu(
      "qemu-broken",
      'echo "Probing EDD (edd=off to disable)... ok"; echo "KVM internal error. Suberror: 1" >&2; exit 1',
    );
    const result = await kvmCheck("auto", qemu);
    expect(result.status).toBe("warn");
    expect(result.detail).toContain('QEMU reported "KVM internal error. Suberror: 1"');
    expect(result.detail).toContain('last guest console line: "Probing EDD (edd=off to disable)... ok"');
    expect(result.detail).toContain("TCG");
  });

  it("fails when accel = kvm is configured and KVM cannot run a guest", async () => {
    writeFileSync(devKvm, "");
    const result = await kvmCheck("kvm", fakeQemu("qemu-broken2", 'echo "KVM internal error" >&2; exit 1'));
    expect(result.status).toBe("fail");
    expect(result.detail).toContain('hypervisor.accel = "kvm"');
  });

  it("is ok when the probe guest reaches its kernel panic under KVM", async () => {
    writeFileSync(devKvm, "");
    const qemu = fakeQemu("qemu-good", 'echo "Kernel panic - not syncing: VFS: Unable to mount root fs"');
    const result = await kvmCheck("auto", qemu);
    expect(result.status).toBe("ok");
    expect(result.detail).toContain("KVM can run a guest");
    expect(result.remedy).toBe("");
  });
});
