/**
 * The runtime options containerd passes with a task (CreateTaskRequest.options, the CRI
 * `options` table, and the `start` command's stdin): tskata's own runtimeoptions.v1.Options (the
 * configuration file to use), and runc's — containerd.runc.v1.Options and the legacy
 * containerd.linux.runc.CreateOptions — which containerd's client and CRI configurations carry.
 * Of runc's fields, what means something for a VM runtime is applied (ShimCgroup: the shim and
 * its VM's processes; IoUid/IoGid: the owner of the stdio FIFOs); the fields that configure the
 * runc binary are named in `ignored` for a debug log line. docs/shim.md has the table.
 */
import { fromBinary } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import { CreateOptionsSchema } from "../../protocol/generated/containerd/linux/runc/create_options_pb.js";
import { OptionsSchema as RuncOptionsSchema } from "../../protocol/generated/containerd/runc/v1/options_pb.js";
import { OptionsSchema } from "../../protocol/generated/runtimeoptions/v1/options_pb.js";
import { invalid } from "./errors.js";

export interface RuntimeOptions {
  configPath: string | undefined;
  /** Cgroup (a path below each hierarchy's root) the shim daemon is placed in. */
  shimCgroup: string | undefined;
  /** Owner given to the process's stdio FIFOs and files. */
  ioOwner: { uid: number; gid: number } | undefined;
  /** runc-binary fields that were set and mean nothing here, by their proto name. */
  ignored: string[];
}

const NONE: RuntimeOptions = {
  configPath: undefined,
  shimCgroup: undefined,
  ioOwner: undefined,
  ignored: [],
};

const TSKATA = "runtimeoptions.v1.Options";
const RUNC = "containerd.runc.v1.Options";
const RUNC_LEGACY = "containerd.linux.runc.CreateOptions";

/** The message name of a type URL (`type.googleapis.com/x.y.Z` or bare `x.y.Z`). */
function messageName(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf("/") + 1);
}

function decode<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw invalid(`runtime options: not a valid ${what}: ${(err as Error).message}`, err);
  }
}

/** The names of the fields of `fields` whose value is not the zero value. */
function setFields(fields: Record<string, unknown>): string[] {
  return Object.entries(fields)
    .filter(([, v]) => (Array.isArray(v) ? v.length > 0 : v !== "" && v !== false && v !== 0))
    .map(([k]) => k);
}

function runcShaped(o: {
  shimCgroup: string;
  ioUid: number;
  ioGid: number;
  ignored: Record<string, unknown>;
}): RuntimeOptions {
  if (o.shimCgroup !== "" && (o.shimCgroup.split("/").includes("..") || o.shimCgroup.includes("\0")))
    throw invalid(`runtime options: shim_cgroup ${JSON.stringify(o.shimCgroup)} is not a cgroup path`);
  return {
    configPath: undefined,
    shimCgroup: o.shimCgroup === "" ? undefined : o.shimCgroup,
    ioOwner: o.ioUid === 0 && o.ioGid === 0 ? undefined : { uid: o.ioUid, gid: o.ioGid },
    ignored: setFields(o.ignored),
  };
}

export function parseRuntimeOptions(options: Any | undefined): RuntimeOptions {
  if (options === undefined || (options.typeUrl === "" && options.value.length === 0)) return NONE;
  switch (messageName(options.typeUrl)) {
    case TSKATA: {
      const decoded = decode(TSKATA, () => fromBinary(OptionsSchema, options.value));
      if (decoded.configBody.length > 0)
        throw invalid("runtime options: config_body is not supported; use ConfigPath");
      return { ...NONE, configPath: decoded.configPath === "" ? undefined : decoded.configPath };
    }
    case RUNC: {
      const o = decode(RUNC, () => fromBinary(RuncOptionsSchema, options.value));
      return runcShaped({
        shimCgroup: o.shimCgroup,
        ioUid: o.ioUid,
        ioGid: o.ioGid,
        ignored: {
          no_pivot_root: o.noPivotRoot,
          no_new_keyring: o.noNewKeyring,
          binary_name: o.binaryName,
          root: o.root,
          criu_path: o.criuPath,
          systemd_cgroup: o.systemdCgroup,
          criu_image_path: o.criuImagePath,
          criu_work_path: o.criuWorkPath,
        },
      });
    }
    case RUNC_LEGACY: {
      const o = decode(RUNC_LEGACY, () => fromBinary(CreateOptionsSchema, options.value));
      return runcShaped({
        shimCgroup: o.shimCgroup,
        ioUid: o.ioUid,
        ioGid: o.ioGid,
        ignored: {
          no_pivot_root: o.noPivotRoot,
          open_tcp: o.openTcp,
          external_unix_sockets: o.externalUnixSockets,
          terminal: o.terminal,
          file_locks: o.fileLocks,
          empty_namespaces: o.emptyNamespaces,
          cgroups_mode: o.cgroupsMode,
          no_new_keyring: o.noNewKeyring,
          criu_work_path: o.criuWorkPath,
          criu_image_path: o.criuImagePath,
        },
      });
    }
    default:
      throw invalid(
        `runtime options of type ${JSON.stringify(options.typeUrl)} are not supported by io.containerd.tskata.v2 (want ${TSKATA}, ${RUNC} or ${RUNC_LEGACY})`,
      );
  }
}
