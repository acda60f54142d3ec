/**
 * The Prometheus text exposition format (0.0.4), written: one `# HELP` and `# TYPE` line per
 * family, then its samples `name{label="value",…} number`. Label values are escaped (\\, \", \n);
 * names are checked, so a bad one is a bug found at once rather than a page scrapers refuse.
 */

export type MetricType = "gauge" | "counter" | "histogram";
export type Labels = Record<string, string>;

export interface Sample {
  /** Defaults to the family's name (histograms: name_bucket, name_sum, name_count). */
  name?: string;
  labels?: Labels;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(v);
}

export function formatLabels(labels: Labels | undefined): string {
  const entries = Object.entries(labels ?? {});
  if (entries.length === 0) return "";
  for (const [k] of entries)
    if (!LABEL_NAME.test(k)) throw new Error(`invalid label name ${JSON.stringify(k)}`);
  return `{${entries.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`;
}

export function renderFamilies(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const f of families) {
    if (!METRIC_NAME.test(f.name)) throw new Error(`invalid metric name ${JSON.stringify(f.name)}`);
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const name = s.name ?? f.name;
      if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name ${JSON.stringify(name)}`);
      lines.push(`${name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
    }
  }
  return lines.length ? `${lines.join("\n")}\n` : "";
}
