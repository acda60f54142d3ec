/** Asks a QEMU binary for its version (`QEMU --version`, first line), bounded. */
import { execFile } from "node:child_process";

export type QemuVersion = { ok: true; version: string; line: string } | { ok: false; reason: string };

export function qemuVersion(path: string, timeoutMs = 5000): Promise<QemuVersion> {
  return new Promise((resolve) => {
    execFile(path, ["--version"], { timeout: timeoutMs }, (err, stdout) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        resolve({ ok: false, reason: `${path} --version failed: ${code ?? err.message}` });
        return;
      }
      const line = stdout.split("\n")[0]?.trim() ?? "";
      const version = /version\s+(\S+)/.exec(line)?.[1];
      resolve(
        version
          ? { ok: true, version, line }
          : { ok: false, reason: `${path} --version printed no version: ${JSON.stringify(line)}` },
      );
    });
  });
}
