/** The OCI annotations tskata reads: CRI pod grouping and VM sizing. */

export const Annotation = {
  containerType: "io.kubernetes.cri.container-type",
  sandboxId: "io.kubernetes.cri.sandbox-id",
  sandboxName: "io.kubernetes.cri.sandbox-name",
  sandboxNamespace: "io.kubernetes.cri.sandbox-namespace",
  sandboxMemory: "io.kubernetes.cri.sandbox-memory",
  sandboxCpuQuota: "io.kubernetes.cri.sandbox-cpu-quota",
  sandboxCpuPeriod: "io.kubernetes.cri.sandbox-cpu-period",
} as const;

/** The key that groups tasks into one shim and one VM: the pod's sandbox id, else the task id. */
export function groupId(taskId: string, annotations: Readonly<Record<string, string>> | undefined): string {
  const sandbox = annotations?.[Annotation.sandboxId];
  return sandbox !== undefined && sandbox !== "" ? sandbox : taskId;
}
