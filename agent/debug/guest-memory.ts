/** The guest's memory as /proc/meminfo reports it (the host's `tskata inspect`). */
import { readFileSync } from "node:fs";

export interface GuestMemory {
  totalKib: number;
  freeKib: number;
  availableKib: number;
}

export function parseMeminfo(text: string): GuestMemory {
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);
  return { totalKib: field("MemTotal"), freeKib: field("MemFree"), availableKib: field("MemAvailable") };
}

export function readGuestMemory(path = "/proc/meminfo"): GuestMemory {
  return parseMeminfo(readFileSync(path, "utf8"));
}
