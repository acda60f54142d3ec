import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { AgentError } from "../errors.js";

const execFileAsync = promisify(execFile);

/** True when a module is loaded or built in (it has /sys/module/NAME). */
export function isModuleLoaded(name: string): boolean {
  return existsSync(`/sys/module/${name.replaceAll("-", "_")}`);
}

/**
 * Loads kernel modules (and their dependencies) with busybox modprobe from the image's
 * /lib/modules/$(uname -r); already loaded ones are skipped. Returns the names it loaded.
 */
export async function loadModules(names: readonly string[]): Promise<string[]> {
  const wanted = names.filter((n) => !isModuleLoaded(n));
  if (wanted.length === 0) return [];
  try {
    await execFileAsync("/usr/bin/modprobe", ["-a", ...wanted], { timeout: 30_000 });
  } catch (cause) {
    const stderr = (cause as { stderr?: string }).stderr?.trim();
    throw new AgentError(
      "ERR_AGENT_MODULE_LOAD",
      `modprobe ${wanted.join(" ")} failed: ${stderr || (cause as Error).message}`,
      {
        cause,
      },
    );
  }
  return wanted;
}
