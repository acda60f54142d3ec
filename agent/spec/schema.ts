/**
 * JSON schema of the OCI runtime-spec subset the agent accepts (config.json, and a Process for
 * exec). Unknown top-level, process and linux fields are refused so that nothing the agent does
 * not handle slips through silently. Of the hooks, only the kinds that run in the guest are
 * accepted (createContainer, startContainer: crun runs them); the host's run in the shim.
 */
const str = { type: "string" } as const;
const strArr = { type: "array", items: str } as const;
const u32 = { type: "integer", minimum: 0, maximum: 4294967295 } as const;
const i64 = { type: "integer" } as const;

const user = {
  type: "object",
  required: ["uid", "gid"],
  properties: {
    uid: u32,
    gid: u32,
    umask: u32,
    additionalGids: { type: "array", items: u32 },
    username: str,
  },
  additionalProperties: false,
} as const;

const capabilitySet = { type: "array", items: { type: "string", pattern: "^CAP_[A-Z_]+$" } } as const;

export const processSchema = {
  type: "object",
  required: ["args", "cwd", "user"],
  properties: {
    terminal: { type: "boolean" },
    consoleSize: {
      type: "object",
      properties: { height: u32, width: u32 },
      required: ["height", "width"],
    },
    user,
    args: { type: "array", items: str, minItems: 1 },
    commandLine: str,
    env: { type: "array", items: { type: "string", pattern: "^[^=]+=" } },
    cwd: { type: "string", pattern: "^/" },
    capabilities: {
      type: "object",
      properties: {
        bounding: capabilitySet,
        effective: capabilitySet,
        inheritable: capabilitySet,
        permitted: capabilitySet,
        ambient: capabilitySet,
      },
      additionalProperties: false,
    },
    rlimits: {
      type: "array",
      items: {
        type: "object",
        required: ["type", "soft", "hard"],
        properties: { type: { type: "string", pattern: "^RLIMIT_[A-Z]+$" }, soft: i64, hard: i64 },
        additionalProperties: false,
      },
    },
    noNewPrivileges: { type: "boolean" },
    apparmorProfile: str,
    oomScoreAdj: { type: "integer", minimum: -1000, maximum: 1000 },
    selinuxLabel: str,
    ioPriority: { type: "object" },
    scheduler: { type: "object" },
  },
  additionalProperties: false,
} as const;

const hookList = {
  type: "array",
  items: {
    type: "object",
    required: ["path"],
    properties: {
      path: { type: "string", pattern: "^/" },
      args: strArr,
      env: strArr,
      timeout: { type: "integer", minimum: 1 },
    },
    additionalProperties: false,
  },
} as const;

const namespaceTypes = ["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"];

export const specSchema = {
  type: "object",
  required: ["ociVersion", "process", "root"],
  properties: {
    ociVersion: { type: "string", pattern: "^1\\." },
    process: processSchema,
    root: {
      type: "object",
      required: ["path"],
      properties: { path: str, readonly: { type: "boolean" } },
      additionalProperties: false,
    },
    hooks: {
      type: "object",
      properties: { createContainer: hookList, startContainer: hookList },
      additionalProperties: false,
    },
    hostname: str,
    domainname: str,
    mounts: {
      type: "array",
      items: {
        type: "object",
        required: ["destination"],
        properties: {
          destination: { type: "string", pattern: "^/" },
          type: str,
          source: str,
          options: strArr,
          uidMappings: { type: "array" },
          gidMappings: { type: "array" },
        },
        additionalProperties: false,
      },
    },
    annotations: { type: "object", additionalProperties: str },
    linux: {
      type: "object",
      properties: {
        namespaces: {
          type: "array",
          items: {
            type: "object",
            required: ["type"],
            properties: { type: { enum: namespaceTypes }, path: str },
            additionalProperties: false,
          },
        },
        uidMappings: { type: "array" },
        gidMappings: { type: "array" },
        devices: { type: "array" },
        cgroupsPath: str,
        resources: { type: "object" },
        sysctl: { type: "object", additionalProperties: str },
        seccomp: {
          type: "object",
          required: ["defaultAction"],
          properties: {
            defaultAction: { type: "string", pattern: "^SCMP_ACT_" },
            defaultErrnoRet: u32,
            architectures: strArr,
            flags: strArr,
            listenerPath: str,
            listenerMetadata: str,
            syscalls: {
              type: "array",
              items: {
                type: "object",
                required: ["names", "action"],
                properties: {
                  names: strArr,
                  action: { type: "string", pattern: "^SCMP_ACT_" },
                  errnoRet: u32,
                  args: { type: "array" },
                },
                additionalProperties: false,
              },
            },
          },
          additionalProperties: false,
        },
        rootfsPropagation: {
          enum: ["private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable"],
        },
        maskedPaths: { type: "array", items: { type: "string", pattern: "^/" } },
        readonlyPaths: { type: "array", items: { type: "string", pattern: "^/" } },
        mountLabel: str,
        timeOffsets: { type: "object" },
        personality: { type: "object" },
      },
      additionalProperties: false,
    },
  },
  additionalProperties: false,
} as const;
