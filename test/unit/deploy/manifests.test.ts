/**
 * The Kubernetes deployment files in deploy/: the RuntimeClass is one the API server accepts
 * (checked against a schema carrying Kubernetes' own rules for its fields) and names the same
 * handler as the containerd snippet, and the snippet is containerd CRI configuration that
 * `tskata check`/`tskata install` recognise as the tskata handler. That a config of this shape
 * loads in a real containerd is proven by test/e2e/cri-pods.test.ts.
 */
import { readFileSync } from "node:fs";
import { Ajv } from "ajv";
import { parse as parseToml } from "smol-toml";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { runtimeHandlers, TSKATA_RUNTIME_TYPE } from "../../../cli/install/containerd-handlers.js";

const root = new URL("../../../", import.meta.url);
const RUNTIME_CLASS = new URL("deploy/runtimeclass.yaml", root);
const CRI_SNIPPET = new URL("deploy/containerd-cri-snippet.toml", root);

/** resource.Quantity as the API server validates it (apimachinery's quantity pattern). */
const QUANTITY =
  "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$";
/** A DNS-1123 label: RuntimeClass.handler (and a name of at most 63 characters). */
const DNS_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

const quantity = { type: "string", pattern: QUANTITY };
const runtimeClassSchema = {
  type: "object",
  required: ["apiVersion", "kind", "metadata", "handler"],
  additionalProperties: false,
  properties: {
    apiVersion: { const: "node.k8s.io/v1" },
    kind: { const: "RuntimeClass" },
    metadata: {
      type: "object",
      required: ["name"],
      properties: { name: { type: "string", pattern: DNS_LABEL, maxLength: 63 } },
    },
    handler: { type: "string", pattern: DNS_LABEL, maxLength: 63 },
    overhead: {
      type: "object",
      required: ["podFixed"],
      additionalProperties: false,
      properties: {
        podFixed: {
          type: "object",
          required: ["memory", "cpu"],
          additionalProperties: false,
          properties: { memory: quantity, cpu: quantity },
        },
      },
    },
    scheduling: {
      type: "object",
      additionalProperties: false,
      properties: {
        nodeSelector: { type: "object", additionalProperties: { type: "string" } },
        tolerations: { type: "array" },
      },
    },
  },
} as const;

function loadRuntimeClass(): Record<string, unknown> {
  return parseYaml(readFileSync(RUNTIME_CLASS, "utf8")) as Record<string, unknown>;
}

function validator() {
  return new Ajv({ allErrors: true }).compile(runtimeClassSchema);
}

/** A binary-suffixed memory quantity (Ki/Mi/Gi) in MiB. */
function memoryMib(q: string): number {
  const m = /^(\d+)(Ki|Mi|Gi)$/.exec(q);
  if (!m) throw new Error(`memory quantity ${q}: expected an integer with Ki, Mi or Gi`);
  return Number(m[1]) * { Ki: 1 / 1024, Mi: 1, Gi: 1024 }[m[2] as "Ki" | "Mi" | "Gi"];
}

describe("deploy/runtimeclass.yaml", () => {
  it("is a node.k8s.io/v1 RuntimeClass `tskata` whose fields and overhead quantities Kubernetes accepts", () => {
    const validate = validator();
    const ok = validate(loadRuntimeClass());
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it("the schema it is checked against rejects a malformed quantity and an unknown field", () => {
    const validate = validator();
    const bad = structuredClone(loadRuntimeClass()) as { overhead: { podFixed: Record<string, string> } };
    bad.overhead.podFixed["memory"] = "600MB";
    expect(validate(bad)).toBe(false);
    expect(validate.errors?.map((e) => e.instancePath)).toContain("/overhead/podFixed/memory");
    expect(validate({ ...loadRuntimeClass(), spec: {} })).toBe(false);
  });

  it("selects the tskata handler, only on labelled nodes", () => {
    const rc = loadRuntimeClass() as {
      metadata: { name: string };
      handler: string;
      scheduling: { nodeSelector: Record<string, string> };
    };
    expect({ name: rc.metadata.name, handler: rc.handler }).toEqual({ name: "tskata", handler: "tskata" });
    expect(rc.scheduling.nodeSelector).toEqual({ "tskata.io/runtime": "true" });
  });

  it("charges each pod at least the idle-pod memory measured at every pod count its comment records", () => {
    const text = readFileSync(RUNTIME_CLASS, "utf8");
    const recorded = /^#\s*idle-pod-pss-mib:((?:\s+\d+=\d+(?:\.\d+)?)+)/m.exec(text);
    expect(recorded, "an `# idle-pod-pss-mib: PODS=MIB …` comment line").not.toBeNull();
    const perPod = recorded![1]!
      .trim()
      .split(/\s+/)
      .map((pair) => Number(pair.split("=")[1]));
    const { memory } = (loadRuntimeClass() as { overhead: { podFixed: { memory: string } } }).overhead
      .podFixed;
    expect(memoryMib(memory)).toBeGreaterThanOrEqual(Math.max(...perPod));
  });
});

describe("deploy/containerd-cri-snippet.toml", () => {
  const text = readFileSync(CRI_SNIPPET, "utf8");

  it("parses as TOML and defines the tskata handler with runtime_type io.containerd.tskata.v2", () => {
    const doc = parseToml(text) as {
      plugins: Record<string, { containerd: { runtimes: Record<string, Record<string, unknown>> } }>;
    };
    const tskata = doc.plugins["io.containerd.grpc.v1.cri"]?.containerd.runtimes["tskata"];
    expect(tskata?.["runtime_type"]).toBe("io.containerd.tskata.v2");
    expect(tskata?.["options"]).toEqual({ ConfigPath: "/etc/tskata/configuration.toml" });
  });

  it("is the handler `tskata check` and `tskata install` look for, under the RuntimeClass's handler name", () => {
    const handlers = runtimeHandlers(parseToml(text) as Record<string, unknown>);
    expect(handlers.map((h) => ({ name: h.name, type: h.runtimeType, config: h.configPath }))).toEqual([
      {
        name: loadRuntimeClass()["handler"],
        type: TSKATA_RUNTIME_TYPE,
        config: "/etc/tskata/configuration.toml",
      },
    ]);
  });
});
