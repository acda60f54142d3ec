/** Runtime handlers in a parsed containerd config.toml (version 2 or 1 layout). */
export const TSKATA_RUNTIME_TYPE = "io.containerd.tskata.v2";

export interface RuntimeHandler {
  name: string;
  runtimeType: string;
  /** Dotted table path, e.g. `plugins."io.containerd.grpc.v1.cri".containerd.runtimes.tskata`. */
  table: string;
  configPath: string | undefined;
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** The CRI plugin's key for a config version: "io.containerd.grpc.v1.cri" (2+) or "cri" (1). */
export function criPluginKey(version: number): string {
  return version >= 2 ? "io.containerd.grpc.v1.cri" : "cri";
}

export function configVersion(doc: Record<string, unknown>): number {
  return typeof doc["version"] === "number" ? doc["version"] : 1;
}

export function runtimeHandlers(doc: Record<string, unknown>): RuntimeHandler[] {
  const out: RuntimeHandler[] = [];
  const plugins = doc["plugins"];
  if (!isTable(plugins)) return out;
  for (const key of ["io.containerd.grpc.v1.cri", "cri"]) {
    const cri = plugins[key];
    const containerd = isTable(cri) ? cri["containerd"] : undefined;
    const runtimes = isTable(containerd) ? containerd["runtimes"] : undefined;
    if (!isTable(runtimes)) continue;
    for (const [name, rt] of Object.entries(runtimes)) {
      if (!isTable(rt)) continue;
      const options = rt["options"];
      const configPath =
        isTable(options) && typeof options["ConfigPath"] === "string" ? options["ConfigPath"] : undefined;
      out.push({
        name,
        runtimeType: typeof rt["runtime_type"] === "string" ? rt["runtime_type"] : "",
        table: `plugins.${JSON.stringify(key)}.containerd.runtimes.${name}`,
        configPath,
      });
    }
  }
  return out;
}
