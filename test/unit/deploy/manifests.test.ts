/**
 * The Kubernetes deployment files in deploy/: the RuntimeClass is one the API server accepts
 * (checked against a schema carrying Kubernetes' own rules for its fields) and names the same
 * handler as the containerd snippet, and the snippet is containerd CRI configuration that
 * `tskata check`/`tskata install` recognise as the tskata handler. That a config of this shape
 * loads in a real containerd is proven by test/e2e/cri-pods.test.ts.
 */
import { readdirSync, readFileSync } from "node:fs";
import { Ajv } from "ajv";
import { parse as parseToml } from "smol-toml";
import { describe, expect, it } from "vitest";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { runtimeHandlers, TSKATA_RUNTIME_TYPE } from "../../../cli/install/containerd-handlers.js";

const root = new URL("../../../", import.meta.url);
const RUNTIME_CLASS = new URL("deploy/runtimeclass.yaml", root);
const CRI_SNIPPET = new URL("deploy/containerd-cri-snippet.toml", root);
const DEPLOY_DIR = new URL("deploy/", root);
const DAEMONSET_FILE = new URL("deploy/tskata-deploy.yaml", root);

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

/**
 * The Kubernetes rules (field names, types, required fields, enums, name formats) of the kinds
 * deploy/ uses, as the API server's OpenAPI schema states them: a kubeconform-like strict check
 * (unknown fields rejected) carried by the test, so it needs no network.
 */
const DNS_SUBDOMAIN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
const strings = { type: "array", items: { type: "string" } } as const;
const stringMap = { type: "object", additionalProperties: { type: "string" } } as const;
const objectMeta = (namespaced: boolean) =>
  ({
    type: "object",
    required: namespaced ? ["name", "namespace"] : ["name"],
    additionalProperties: false,
    properties: {
      name: { type: "string", pattern: DNS_SUBDOMAIN, maxLength: 253 },
      namespace: { type: "string", pattern: DNS_LABEL, maxLength: 63 },
      labels: stringMap,
      annotations: stringMap,
    },
  }) as const;
const typeMeta = (apiVersion: string, kind: string) => ({
  apiVersion: { const: apiVersion },
  kind: { const: kind },
});
const object = (required: string[], properties: Record<string, unknown>) => ({
  type: "object",
  required,
  additionalProperties: false,
  properties,
});
const execHandler = object([], { exec: object(["command"], { command: strings }) });
const envVar = object(["name"], {
  name: { type: "string", minLength: 1 },
  value: { type: "string" },
  valueFrom: object([], {
    fieldRef: object(["fieldPath"], { fieldPath: { type: "string" }, apiVersion: { type: "string" } }),
  }),
});
const container = object(["name"], {
  name: { type: "string", pattern: DNS_LABEL, maxLength: 63 },
  image: { type: "string", minLength: 1 },
  imagePullPolicy: { enum: ["Always", "IfNotPresent", "Never"] },
  command: strings,
  args: strings,
  env: { type: "array", items: envVar },
  securityContext: object([], { privileged: { type: "boolean" }, runAsUser: { type: "integer" } }),
  lifecycle: object([], { preStop: execHandler, postStart: execHandler }),
  volumeMounts: {
    type: "array",
    items: object(["name", "mountPath"], {
      name: { type: "string" },
      mountPath: { type: "string", pattern: "^/" },
      readOnly: { type: "boolean" },
      mountPropagation: { enum: ["None", "HostToContainer", "Bidirectional"] },
    }),
  },
});
const podSpec = object(["containers"], {
  serviceAccountName: { type: "string", pattern: DNS_SUBDOMAIN },
  hostPID: { type: "boolean" },
  hostNetwork: { type: "boolean" },
  terminationGracePeriodSeconds: { type: "integer", minimum: 0 },
  nodeSelector: stringMap,
  tolerations: { type: "array", items: { type: "object" } },
  containers: { type: "array", minItems: 1, items: container },
  volumes: {
    type: "array",
    items: object(["name"], {
      name: { type: "string", pattern: DNS_LABEL, maxLength: 63 },
      hostPath: object(["path"], {
        path: { type: "string" },
        type: {
          enum: [
            "",
            "DirectoryOrCreate",
            "Directory",
            "FileOrCreate",
            "File",
            "Socket",
            "CharDevice",
            "BlockDevice",
          ],
        },
      }),
    }),
  },
});
const KIND_SCHEMAS: Record<string, object> = {
  RuntimeClass: runtimeClassSchema,
  Namespace: object(["apiVersion", "kind", "metadata"], {
    ...typeMeta("v1", "Namespace"),
    metadata: objectMeta(false),
  }),
  ServiceAccount: object(["apiVersion", "kind", "metadata"], {
    ...typeMeta("v1", "ServiceAccount"),
    metadata: objectMeta(true),
  }),
  ClusterRole: object(["apiVersion", "kind", "metadata"], {
    ...typeMeta("rbac.authorization.k8s.io/v1", "ClusterRole"),
    metadata: objectMeta(false),
    rules: {
      type: "array",
      items: object(["verbs"], {
        apiGroups: strings,
        resources: strings,
        resourceNames: strings,
        nonResourceURLs: strings,
        verbs: { ...strings, minItems: 1 },
      }),
    },
  }),
  ClusterRoleBinding: object(["apiVersion", "kind", "metadata", "roleRef"], {
    ...typeMeta("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    metadata: objectMeta(false),
    roleRef: object(["apiGroup", "kind", "name"], {
      apiGroup: { const: "rbac.authorization.k8s.io" },
      kind: { enum: ["Role", "ClusterRole"] },
      name: { type: "string" },
    }),
    subjects: {
      type: "array",
      items: object(["kind", "name"], {
        kind: { enum: ["ServiceAccount", "User", "Group"] },
        name: { type: "string" },
        namespace: { type: "string" },
        apiGroup: { type: "string" },
      }),
    },
  }),
  DaemonSet: object(["apiVersion", "kind", "metadata", "spec"], {
    ...typeMeta("apps/v1", "DaemonSet"),
    metadata: objectMeta(true),
    spec: object(["selector", "template"], {
      selector: object([], { matchLabels: stringMap, matchExpressions: { type: "array" } }),
      updateStrategy: object([], {
        type: { enum: ["RollingUpdate", "OnDelete"] },
        rollingUpdate: { type: "object" },
      }),
      minReadySeconds: { type: "integer", minimum: 0 },
      template: object(["spec"], {
        metadata: object([], { labels: stringMap, annotations: stringMap }),
        spec: podSpec,
      }),
    }),
  }),
};

type Manifest = { kind: string; metadata: { name: string; namespace?: string } } & Record<string, unknown>;

function manifestsIn(file: URL): Manifest[] {
  return parseAllDocuments(readFileSync(file, "utf8")).map((d) => {
    if (d.errors.length > 0) throw new Error(`${file.pathname}: ${d.errors[0]!.message}`);
    return d.toJS() as Manifest;
  });
}

/** Problems of one manifest: schema errors as "path: message", or the kind having no schema. */
function kubernetesProblems(m: Manifest): string[] {
  const schema = KIND_SCHEMAS[m.kind];
  if (!schema) return [`kind ${String(m.kind)}: no schema`];
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  return validate(m) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || "/"}: ${e.message}`);
}

type DaemonSet = {
  spec: {
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        serviceAccountName: string;
        hostPID: boolean;
        containers: {
          image: string;
          command: string[];
          args: string[];
          env: { name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } }[];
          securityContext: { privileged: boolean };
          lifecycle: { preStop: { exec: { command: string[] } } };
          volumeMounts: { name: string; mountPath: string }[];
        }[];
        volumes: { name: string; hostPath?: { path: string } }[];
      };
    };
  };
};

describe("deploy/*.yaml against the Kubernetes schema of their kinds", () => {
  const files = readdirSync(DEPLOY_DIR).filter((f) => f.endsWith(".yaml"));

  it("every document of every manifest is a kind the check knows and passes its schema", () => {
    expect(files).toEqual(expect.arrayContaining(["runtimeclass.yaml", "tskata-deploy.yaml"]));
    const problems = files.flatMap((f) =>
      manifestsIn(new URL(f, DEPLOY_DIR)).flatMap((m) =>
        kubernetesProblems(m).map((p) => `${f} ${m.kind}/${m.metadata?.name}: ${p}`),
      ),
    );
    expect(problems).toEqual([]);
    expect(manifestsIn(DAEMONSET_FILE).map((m) => m.kind)).toEqual([
      "Namespace",
      "ServiceAccount",
      "ClusterRole",
      "ClusterRoleBinding",
      "DaemonSet",
    ]);
  });

  it("the check rejects a DaemonSet without a selector, a misspelt container field and a bad enum value", () => {
    const ds = manifestsIn(DAEMONSET_FILE).find((m) => m.kind === "DaemonSet") as Manifest & DaemonSet;
    const noSelector = structuredClone(ds) as Manifest & { spec: Record<string, unknown> };
    delete noSelector.spec["selector"];
    expect(kubernetesProblems(noSelector)).toContain("/spec: must have required property 'selector'");
    const typo = structuredClone(ds) as Manifest & DaemonSet;
    (typo.spec.template.spec.containers[0] as Record<string, unknown>)["comand"] = ["sh"];
    expect(kubernetesProblems(typo)).toContain(
      "/spec/template/spec/containers/0: must NOT have additional properties",
    );
    const badPolicy = structuredClone(ds) as Manifest & DaemonSet;
    (badPolicy.spec.template.spec.containers[0] as Record<string, unknown>)["imagePullPolicy"] = "Sometimes";
    expect(kubernetesProblems(badPolicy).join("\n")).toMatch(/imagePullPolicy: must be equal to one of/);
    expect(kubernetesProblems({ kind: "Deployment", metadata: { name: "x" } })).toEqual([
      "kind Deployment: no schema",
    ]);
  });

  it("the DaemonSet runs this version's installer privileged with the node's / at /host, NODE_NAME, and uninstall in preStop", () => {
    const docs = manifestsIn(DAEMONSET_FILE);
    const ds = docs.find((m) => m.kind === "DaemonSet") as Manifest & DaemonSet;
    const { version } = JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as {
      version: string;
    };
    const pod = ds.spec.template.spec;
    const c = pod.containers[0]!;
    expect(c.image).toBe(`localhost/tskata-installer:${version}`);
    expect([...c.command, ...c.args]).toEqual(["/opt/tskata/bin/tskata-deploy", "install"]);
    expect(c.lifecycle.preStop.exec.command).toEqual(["/opt/tskata/bin/tskata-deploy", "uninstall"]);
    expect({ privileged: c.securityContext.privileged, hostPID: pod.hostPID }).toEqual({
      privileged: true,
      hostPID: true,
    });
    const env = Object.fromEntries(c.env.map((e) => [e.name, e.value ?? e.valueFrom?.fieldRef.fieldPath]));
    expect(env).toEqual({ NODE_NAME: "spec.nodeName", HOST_ROOT: "/host", RESTART_CONTAINERD: "true" });
    const hostRoot = pod.volumes.find((v) => v.hostPath?.path === "/");
    expect(c.volumeMounts).toEqual([{ name: hostRoot?.name, mountPath: "/host" }]);
    // what the API server checks across fields: the selector matches the template's labels
    expect(ds.spec.template.metadata.labels).toMatchObject(ds.spec.selector.matchLabels);
    const ns = docs.find((m) => m.kind === "Namespace")!.metadata.name;
    expect(docs.filter((m) => m.metadata.namespace !== undefined).map((m) => m.metadata.namespace)).toEqual([
      ns,
      ns,
    ]);
  });

  it("the service account may patch nodes (the label) through the binding, and nothing else", () => {
    const docs = manifestsIn(DAEMONSET_FILE);
    const ds = docs.find((m) => m.kind === "DaemonSet") as Manifest & DaemonSet;
    const sa = docs.find((m) => m.kind === "ServiceAccount")!;
    const role = docs.find((m) => m.kind === "ClusterRole") as Manifest & { rules: unknown[] };
    const binding = docs.find((m) => m.kind === "ClusterRoleBinding") as Manifest & {
      roleRef: { kind: string; name: string };
      subjects: { kind: string; name: string; namespace: string }[];
    };
    expect(ds.spec.template.spec.serviceAccountName).toBe(sa.metadata.name);
    expect(binding.roleRef).toMatchObject({ kind: "ClusterRole", name: role.metadata.name });
    expect(binding.subjects).toEqual([
      { kind: "ServiceAccount", name: sa.metadata.name, namespace: sa.metadata.namespace },
    ]);
    expect(role.rules).toEqual([{ apiGroups: [""], resources: ["nodes"], verbs: ["get", "patch"] }]);
  });
});
