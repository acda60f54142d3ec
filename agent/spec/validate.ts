/** ajv validation of runtime-spec documents; errors name the offending field. */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { ContainerError } from "../container/errors.js";
import { processSchema, specSchema } from "./schema.js";
import type { OciProcess, OciSpec } from "./types.js";

let validators: { spec: ValidateFunction; process: ValidateFunction } | undefined;

/**
 * Compiles the spec and process validators. ajv's code generation costs ~1.8 s under TCG, so
 * the guest image's V8 startup snapshot calls this at build time: the first CreateContainer of
 * every VM then finds them ready (docs/performance.md, "first CreateContainer").
 */
export function compileValidators(): { spec: ValidateFunction; process: ValidateFunction } {
  if (!validators) {
    const ajv = new Ajv({ allErrors: false, strict: false });
    validators = { spec: ajv.compile(specSchema), process: ajv.compile(processSchema) };
  }
  return validators;
}

/** "process.user.uid: must be integer" — the field path in dotted form, then ajv's message. */
export function describeError(e: ErrorObject): string {
  const path = e.instancePath
    .split("/")
    .filter((s) => s !== "")
    .map((s) => (/^\d+$/.test(s) ? `[${s}]` : `.${s}`))
    .join("")
    .replace(/^\./, "");
  let msg = e.message ?? "is invalid";
  if (e.keyword === "additionalProperties")
    msg = `unknown field "${(e.params as { additionalProperty: string }).additionalProperty}" is not accepted`;
  if (e.keyword === "enum")
    msg = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(", ")}`;
  return `${path === "" ? "(root)" : path}: ${msg}`;
}

function parse(json: Uint8Array | string, what: string): unknown {
  try {
    return JSON.parse(typeof json === "string" ? json : Buffer.from(json).toString("utf8"));
  } catch (err) {
    throw new ContainerError("ERR_SPEC_INVALID", `${what} is not valid JSON: ${(err as Error).message}`);
  }
}

export function parseSpec(json: Uint8Array | string): OciSpec {
  const doc = parse(json, "oci spec");
  const v = compileValidators().spec;
  if (!v(doc))
    throw new ContainerError("ERR_SPEC_INVALID", `invalid oci spec: ${describeError(v.errors![0]!)}`);
  return doc as OciSpec;
}

export function parseProcess(json: Uint8Array | string): OciProcess {
  const doc = parse(json, "oci process");
  const v = compileValidators().process;
  if (!v(doc))
    throw new ContainerError("ERR_SPEC_INVALID", `invalid oci process: ${describeError(v.errors![0]!)}`);
  return doc as OciProcess;
}
