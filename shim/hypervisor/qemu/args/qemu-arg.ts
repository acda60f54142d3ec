/** One piece of the QEMU command line: a typed object that renders its own arguments. */
export interface QemuArg {
  render(): string[];
}

/** The machine's device bus decides each virtio device's QEMU name. */
export type VirtioBus = "pci" | "mmio";

/** `virtio-blk` → `virtio-blk-pci` on PCI machines, `virtio-blk-device` on microvm (virtio-mmio). */
export function virtioDevice(base: string, bus: VirtioBus): string {
  return `${base}-${bus === "pci" ? "pci" : "device"}`;
}

/** QEMU option values escape a comma by doubling it. */
export function optValue(value: string): string {
  return value.replaceAll(",", ",,");
}

/** Renders `name,key=value,...` with escaped values; undefined entries are skipped. */
export function opts(head: string, entries: Record<string, string | number | undefined>): string {
  const parts = [head];
  for (const [key, value] of Object.entries(entries)) {
    if (value !== undefined) parts.push(`${key}=${optValue(String(value))}`);
  }
  return parts.join(",");
}
