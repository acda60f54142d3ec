/**
 * The guest's boot phases as guest uptimes, for the host's start-up timeline: the initramfs and
 * root image init scripts export theirs (TSKATA_UPTIME_INITRAMFS, TSKATA_UPTIME_ROOTFS_INIT,
 * read from /proc/uptime as each script starts), the agent marks its own as it reaches them.
 */

export interface BootPhaseMark {
  name: string;
  uptimeSeconds: number;
}

/** Environment variables the init scripts set, and the phase each one ends. */
export const INIT_SCRIPT_PHASES: readonly { env: string; name: string }[] = [
  { env: "TSKATA_UPTIME_INITRAMFS", name: "initramfs" },
  { env: "TSKATA_UPTIME_ROOTFS_INIT", name: "rootfs-init" },
];

export class BootPhases {
  private readonly marks: BootPhaseMark[] = [];

  /** Takes the init scripts' uptimes from `env` (values that are not numbers are skipped). */
  constructor(env: Record<string, string | undefined> = {}) {
    for (const { env: key, name } of INIT_SCRIPT_PHASES) {
      const uptime = Number.parseFloat(env[key] ?? "");
      if (Number.isFinite(uptime)) this.marks.push({ name, uptimeSeconds: uptime });
    }
  }

  mark(name: string, uptimeSeconds: number): void {
    if (Number.isFinite(uptimeSeconds)) this.marks.push({ name, uptimeSeconds });
  }

  /** The marks in uptime order. */
  list(): BootPhaseMark[] {
    return [...this.marks].sort((a, b) => a.uptimeSeconds - b.uptimeSeconds);
  }
}
