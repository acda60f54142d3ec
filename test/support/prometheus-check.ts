/**
 * A strict reading of the Prometheus text exposition format (0.0.4) for tests: every line is a
 * `# HELP name text`, a `# TYPE name (gauge|counter|histogram|summary|untyped)`, or a sample
 * `name{label="value",…} number` whose name is a declared family (histograms: _bucket/_sum/_count)
 * and whose labels and number parse. Throws naming the first bad line; returns the samples.
 */
export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedPage {
  types: Map<string, string>;
  help: Map<string, string>;
  samples: ParsedSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"/;
const NUMBER = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/;

export function parsePrometheusText(text: string): ParsedPage {
  const page: ParsedPage = { types: new Map(), help: new Map(), samples: [] };
  if (!text.endsWith("\n")) throw new Error("the page does not end with a newline");
  const lines = text.slice(0, -1).split("\n");
  lines.forEach((line, n) => {
    const bad = (why: string) => new Error(`line ${n + 1} ${JSON.stringify(line)}: ${why}`);
    if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) {
      const [, kind, name, ...rest] = line.split(" ");
      if (!name || !NAME.test(name)) throw bad("bad metric name");
      if (kind === "TYPE") {
        if (!["gauge", "counter", "histogram", "summary", "untyped"].includes(rest.join(" ")))
          throw bad("bad type");
        if (page.types.has(name)) throw bad("second TYPE line for the family");
        page.types.set(name, rest.join(" "));
      } else page.help.set(name, rest.join(" "));
      return;
    }
    if (line.startsWith("#")) return;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    if (!name) throw bad("no metric name");
    let rest = line.slice(name.length);
    const labels: Record<string, string> = {};
    if (rest.startsWith("{")) {
      rest = rest.slice(1);
      while (!rest.startsWith("}")) {
        const m = LABEL.exec(rest);
        if (!m) throw bad("bad label");
        if (m[1]! in labels) throw bad(`label ${m[1]} twice`);
        labels[m[1]!] = m[2]!.replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
        rest = rest.slice(m[0].length);
        if (rest.startsWith(",")) rest = rest.slice(1);
        else if (!rest.startsWith("}")) throw bad("labels not separated by ,");
      }
      rest = rest.slice(1);
    }
    if (!rest.startsWith(" ")) throw bad("no space before the value");
    const [value, timestamp, extra] = rest.slice(1).split(" ");
    if (!value || !NUMBER.test(value)) throw bad("value is not a number");
    if (timestamp !== undefined && !/^-?\d+$/.test(timestamp)) throw bad("bad timestamp");
    if (extra !== undefined) throw bad("trailing fields");
    const family = [name, name.replace(/_(bucket|sum|count)$/, "")].find((f) => page.types.has(f));
    if (!family) throw bad("sample of an undeclared family");
    if (family !== name && page.types.get(family) !== "histogram" && page.types.get(family) !== "summary")
      throw bad("suffix on a non-histogram family");
    page.samples.push({
      name,
      labels,
      value: value.endsWith("Inf") ? (value.startsWith("-") ? -Infinity : Infinity) : Number(value),
    });
  });
  return page;
}
