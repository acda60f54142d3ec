/**
 * `tskata metrics`: every sandbox's Prometheus page gathered into one, as kata-monitor does —
 * each sample gets a `sandbox_id` label, each family keeps one `# HELP`/`# TYPE` header, and
 * `tskata_sandbox_up` says which shims answered.
 */
import { escapeLabelValue } from "../../shim/admin/prometheus-text.js";

interface Family {
  name: string;
  help: string | undefined;
  type: string | undefined;
  samples: string[];
}

export interface SandboxPage {
  sandboxId: string;
  /** The shim's page; undefined when it did not answer. */
  text: string | undefined;
}

/** `name{a="b"} 1` → `name{sandbox_id="ID",a="b"} 1`. */
export function withSandboxLabel(sample: string, sandboxId: string): string {
  const label = `sandbox_id="${escapeLabelValue(sandboxId)}"`;
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{)?/.exec(sample);
  if (!m) return sample;
  const name = m[1]!;
  if (m[2]) {
    const rest = sample.slice(name.length + 1);
    return `${name}{${label}${rest.startsWith("}") ? "" : ","}${rest}`;
  }
  return `${name}{${label}}${sample.slice(name.length)}`;
}

export function mergeMetricPages(pages: readonly SandboxPage[]): string {
  const families = new Map<string, Family>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) {
      f = { name, help: undefined, type: undefined, samples: [] };
      families.set(name, f);
    }
    return f;
  };
  const up = family("tskata_sandbox_up");
  up.help = "Whether the sandbox's shim answered its admin socket (1) or not (0).";
  up.type = "gauge";
  for (const page of pages) {
    up.samples.push(withSandboxLabel(`tskata_sandbox_up ${page.text === undefined ? 0 : 1}`, page.sandboxId));
    if (page.text === undefined) continue;
    let current: Family | undefined;
    for (const line of page.text.split("\n")) {
      if (line.trim() === "") continue;
      const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (meta) {
        const f = family(meta[2]!);
        if (meta[1] === "HELP") f.help ??= meta[3];
        else f.type ??= meta[3];
        current = f;
        continue;
      }
      if (line.startsWith("#")) continue;
      const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? "";
      const owner =
        current && (name === current.name || name.startsWith(`${current.name}_`)) ? current : family(name);
      owner.samples.push(withSandboxLabel(line, page.sandboxId));
    }
  }
  const out: string[] = [];
  for (const f of families.values()) {
    if (f.help !== undefined) out.push(`# HELP ${f.name} ${f.help}`);
    if (f.type !== undefined) out.push(`# TYPE ${f.name} ${f.type}`);
    out.push(...f.samples);
  }
  return `${out.join("\n")}\n`;
}
