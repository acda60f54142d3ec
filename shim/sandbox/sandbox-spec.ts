/**
 * What a pod's sandbox (its VM) is asked to be, read once from the container that opens it: the
 * CRI sandbox ("pause") container for a Kubernetes pod, or the only container of a plain
 * `ctr run`. Everything here is host-side fact (netns path, hostname, DNS, sizing annotations);
 * the provider that brings up the VM takes it as it is.
 */
import { readFileSync } from "node:fs";
import { Annotation } from "../bundle/annotations.js";
import type { OciSpec } from "../spec/guest-spec.js";
import { SandboxError } from "./errors.js";

export type SandboxKind = "cri-pod" | "standalone";

export interface DnsConfig {
  servers: string[];
  searches: string[];
  options: string[];
}

export interface SandboxSpec {
  /** The pod's sandbox id (CRI) or the task id (plain containerd). */
  id: string;
  kind: SandboxKind;
  /** Kubernetes pod name and namespace, when a CRI pod. */
  podName: string | undefined;
  podNamespace: string | undefined;
  /** Guest hostname (at most 63 bytes). */
  hostname: string;
  /** The pod's network namespace on the host (CNI has configured it); undefined: no network. */
  netnsPath: string | undefined;
  /**
   * A plain container asking for a network namespace of its own (no path) with prestart or
   * createRuntime hooks: a hook may configure that namespace at /proc/PID/ns/net (Docker's
   * libnetwork-setkey, CNI hooks), PID being QEMU's. The VM is then booted able to take NICs
   * after boot, and whatever the hooks configured is plugged in (VmSandbox.plugHookNetwork).
   */
  hookNetwork?: boolean;
  /**
   * A plain container naming a network namespace its caller configured (podman's networks,
   * `ctr run --with-ns network:PATH`): used as a pod's netns when it holds an interface besides
   * lo (Sandbox.start); a namespace with only lo gives the VM no NIC.
   */
  givenNetnsPath?: string;
  /** From the resolv.conf file containerd hands the sandbox container, when there is one. */
  dns: DnsConfig;
  /** Memory and CPU the kubelet announced for the whole pod (sizing annotations), beyond the base. */
  announced: { memoryBytes: number; cpuQuota: number; cpuPeriod: number };
}

export const CONTAINER_TYPE_SANDBOX = "sandbox";
export const CONTAINER_TYPE_CONTAINER = "container";

/** The CRI role of a container from its annotations: "sandbox", "container", or undefined (not CRI). */
export function criContainerType(spec: OciSpec): string | undefined {
  return spec.annotations?.[Annotation.containerType];
}

function namespaceOf(spec: OciSpec, type: string): { type: string; path?: string } | undefined {
  return spec.linux?.namespaces?.find((n) => n.type === type);
}

/** Pod asks that a VM cannot honour: each names what the pod asked for. */
export function refuseHostNamespaces(spec: OciSpec, what: string): void {
  if (criContainerType(spec) === undefined) return;
  const missing: [string, string][] = [
    ["network", "hostNetwork"],
    ["pid", "hostPID"],
    ["ipc", "hostIPC"],
  ];
  for (const [type, field] of missing) {
    if (!namespaceOf(spec, type)) {
      throw new SandboxError(
        "SANDBOX_HOST_NAMESPACE",
        `${what} asks for the host's ${type} namespace (${field}: true): a tskata pod runs in its own VM and cannot share the host's ${type} namespace; use another RuntimeClass for this pod`,
      );
    }
  }
}

function numberAnnotation(spec: OciSpec, key: string): number {
  const raw = spec.annotations?.[key];
  if (raw === undefined || raw === "") return 0;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) {
    throw new SandboxError(
      "SANDBOX_SPEC_INVALID",
      `annotation ${key} = ${JSON.stringify(raw)} is not a number`,
    );
  }
  return n;
}

/** nameserver/search/options lines of a resolv.conf file; an unreadable file is an error. */
export function readResolvConf(path: string): DnsConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new SandboxError(
      "SANDBOX_SPEC_INVALID",
      `resolv.conf ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`,
      { cause: err },
    );
  }
  const dns: DnsConfig = { servers: [], searches: [], options: [] };
  for (const line of text.split("\n")) {
    const [key, ...values] = line.trim().split(/\s+/);
    if (key === "nameserver" && values[0]) dns.servers.push(values[0]);
    else if (key === "search") dns.searches = values;
    else if (key === "options") dns.options.push(...values);
  }
  return dns;
}

/** A new network namespace (no path) and a host hook that runs before the container starts. */
function wantsHookNetwork(spec: OciSpec): boolean {
  const ns = namespaceOf(spec, "network");
  if (!ns || ns.path) return false;
  const hooks = ((spec as { hooks?: Record<string, unknown> }).hooks ?? {}) as Record<string, unknown>;
  return ["prestart", "createRuntime"].some((k) => Array.isArray(hooks[k]) && hooks[k].length > 0);
}

/**
 * The sandbox spec from the container that opens the pod. A CRI app container cannot open one
 * (its pod's sandbox container comes first); a pod asking for host namespaces is refused.
 */
export function sandboxSpecFor(taskId: string, sandboxId: string, spec: OciSpec): SandboxSpec {
  const type = criContainerType(spec);
  if (type === CONTAINER_TYPE_CONTAINER) {
    throw new SandboxError(
      "SANDBOX_NOT_RUNNING",
      `container ${taskId} belongs to pod sandbox ${sandboxId}, which is not running (its sandbox container must be created first)`,
    );
  }
  const what = type === CONTAINER_TYPE_SANDBOX ? `pod sandbox ${sandboxId}` : `container ${taskId}`;
  refuseHostNamespaces(spec, what);
  const netns = namespaceOf(spec, "network")?.path;
  if (type === CONTAINER_TYPE_SANDBOX && !netns) {
    throw new SandboxError(
      "SANDBOX_HOST_NAMESPACE",
      `${what} has no network namespace path: a tskata pod needs the netns CNI configured (hostNetwork pods cannot run in a VM)`,
    );
  }
  const resolv = (spec.mounts ?? []).find((m) => m.destination === "/etc/resolv.conf" && m.source);
  const hostname = typeof spec.hostname === "string" && spec.hostname !== "" ? spec.hostname : sandboxId;
  const annotations = spec.annotations ?? {};
  return {
    id: sandboxId,
    kind: type === CONTAINER_TYPE_SANDBOX ? "cri-pod" : "standalone",
    podName: annotations[Annotation.sandboxName],
    podNamespace: annotations[Annotation.sandboxNamespace],
    hostname: hostname.slice(0, 63),
    netnsPath: type === CONTAINER_TYPE_SANDBOX ? netns : undefined,
    ...(type !== CONTAINER_TYPE_SANDBOX && wantsHookNetwork(spec) ? { hookNetwork: true } : {}),
    ...(type !== CONTAINER_TYPE_SANDBOX && netns ? { givenNetnsPath: netns } : {}),
    dns: resolv?.source ? readResolvConf(resolv.source) : { servers: [], searches: [], options: [] },
    announced: {
      memoryBytes: numberAnnotation(spec, Annotation.sandboxMemory),
      cpuQuota: numberAnnotation(spec, Annotation.sandboxCpuQuota),
      cpuPeriod: numberAnnotation(spec, Annotation.sandboxCpuPeriod),
    },
  };
}
