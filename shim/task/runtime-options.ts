/**
 * The runtime options containerd passes with a task (CRI `options` table, `ctr
 * --runtime-config-path`): runtimeoptions.v1.Options with the configuration file to use.
 */
import { fromBinary } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import { OptionsSchema } from "../../protocol/generated/runtimeoptions/v1/options_pb.js";
import { invalid } from "./errors.js";

export interface RuntimeOptions {
  configPath: string | undefined;
}

const ACCEPTED = new Set(["runtimeoptions.v1.Options", "type.googleapis.com/runtimeoptions.v1.Options"]);

export function parseRuntimeOptions(options: Any | undefined): RuntimeOptions {
  if (options === undefined || (options.typeUrl === "" && options.value.length === 0)) {
    return { configPath: undefined };
  }
  if (!ACCEPTED.has(options.typeUrl)) {
    throw invalid(
      `runtime options of type ${JSON.stringify(options.typeUrl)} are not supported by io.containerd.tskata.v2 (want runtimeoptions.v1.Options)`,
    );
  }
  let decoded: ReturnType<typeof fromBinary<typeof OptionsSchema>>;
  try {
    decoded = fromBinary(OptionsSchema, options.value);
  } catch (err) {
    throw invalid(`runtime options: not a valid runtimeoptions.v1.Options: ${(err as Error).message}`, err);
  }
  if (decoded.configBody.length > 0) {
    throw invalid("runtime options: config_body is not supported; use ConfigPath");
  }
  return { configPath: decoded.configPath === "" ? undefined : decoded.configPath };
}
