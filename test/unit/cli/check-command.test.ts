/**
 * `tskata check` as a whole: a configuration pointing at a missing QEMU fails naming it (exit 1),
 * and on this very host the check passes and says whether KVM can be used and, if not, why —
 * whatever this host's /dev/kvm state is (absent, broken or working).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkQemu } from "../../../cli/check/qemu.js";
import type { CheckReport } from "../../../cli/check/report.js";
import { check } from "../../../cli/commands/check.js";
import { qemuVersion } from "../../../cli/host/qemu-version.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tskata-check-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runCheck(args: string[]): Promise<{ code: number; out: string }> {
  let out = "";
  const code = await check(args, { write: (t) => (out += t) });
  return { code, out };
}

describe("tskata check", () => {
  it("fails the qemu check naming a QEMU binary that does not exist", async () => {
    const missing = join(dir, "no-such-qemu-system-x86_64");
    const result = await checkQemu({ path: missing, version: (p) => qemuVersion(p) });
    expect(result.status).toBe("fail");
    expect(result.detail).toContain(missing);
    expect(result.remedy).toContain("qemu-system-x86");
  });

  it("exits 1 with a FAIL line naming hypervisor.path when the configuration points at a missing QEMU", async () => {
    const missing = join(dir, "bin", "qemu-system-x86_64");
    const config = join(dir, "missing-qemu.toml");
    writeFileSync(
      config,
      `[hypervisor]\npath = "${missing}"\n[runtime]\nstate_dir = "${join(dir, "state")}"\n`,
    );
    const text = await runCheck(["--config", config, "--containerd-config", join(dir, "none.toml")]);
    expect(text.code).toBe(1);
    expect(text.out).toMatch(new RegExp(`^FAIL  qemu +QEMU not usable at ${missing}`, "m"));
    expect(text.out).toContain("NOT READY");

    const json = await runCheck([
      "--json",
      "--config",
      config,
      "--containerd-config",
      join(dir, "none.toml"),
    ]);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.out) as CheckReport;
    expect(report.ready).toBe(false);
    const qemu = report.checks.find((c) => c.name === "qemu");
    expect(qemu).toMatchObject({ status: "fail" });
    expect(qemu?.detail).toContain(missing);
    expect(report.checks.find((c) => c.name === "configuration")?.detail).toContain("hypervisor.path");
  });

  it("passes on this host and says whether KVM can run a guest, and why not when it cannot", async () => {
    const { code, out } = await runCheck(["--json"]);
    const report = JSON.parse(out) as CheckReport;
    const failed = report.checks.filter((c) => c.status === "fail");
    expect(failed, JSON.stringify(failed)).toEqual([]);
    expect(code).toBe(0);
    expect(report.ready).toBe(true);
    for (const c of report.checks) {
      expect(["ok", "warn", "fail"]).toContain(c.status);
      expect(c.detail.length).toBeGreaterThan(0);
    }
    const kvm = report.checks.find((c) => c.name === "kvm");
    if (kvm?.status === "ok") {
      expect(kvm.detail).toContain("KVM can run a guest");
    } else {
      expect(kvm?.status).toBe("warn");
      expect(kvm?.detail).toMatch(/^KVM cannot be used: .+TCG/);
      if (!existsSync("/dev/kvm")) expect(kvm?.detail).toContain("/dev/kvm does not exist");
      else expect(kvm?.detail).toMatch(/probe guest|QEMU|cannot open \/dev\/kvm/);
    }
  });
});
