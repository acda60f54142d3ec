/** The runtime-spec shapes the agent reads (the schema in schema.ts guards them). */
export interface OciProcess {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user: { uid: number; gid: number; umask?: number; additionalGids?: number[] };
  args: string[];
  env?: string[];
  cwd: string;
  [key: string]: unknown;
}

export interface OciNamespace {
  type: string;
  path?: string;
}

export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly?: boolean };
  hostname?: string;
  mounts?: { destination: string; type?: string; source?: string; options?: string[] }[];
  annotations?: Record<string, string>;
  linux?: {
    namespaces?: OciNamespace[];
    cgroupsPath?: string;
    resources?: Record<string, unknown>;
    [key: string]: unknown;
  };
}
