/**
 * The spec's OCI hooks, as Kata runs them for a VM: prestart, createRuntime, poststart and
 * poststop on the host, each with the runtime-spec state on its stdin (ociVersion, id, status,
 * pid — the pod VM's QEMU pid — bundle, annotations) and its own timeout; createContainer and
 * startContainer in the guest, where crun runs them from the guest spec (their paths name guest
 * files). A hook kind this runtime does not know is refused, never ignored.
 *
 * Failures follow the runtime spec: a failing prestart or createRuntime hook fails the create;
 * a failing poststart or poststop hook is logged and the operation goes on.
 */
import { spawn } from "node:child_process";
import { TaskError } from "./errors.js";

export const HOST_HOOK_KINDS = ["prestart", "createRuntime", "poststart", "poststop"] as const;
export const GUEST_HOOK_KINDS = ["createContainer", "startContainer"] as const;
export type HostHookKind = (typeof HOST_HOOK_KINDS)[number];
export type GuestHookKind = (typeof GUEST_HOOK_KINDS)[number];

export interface OciHook {
  path: string;
  args?: string[];
  env?: string[];
  /** Seconds. */
  timeout?: number;
}

export type HostHooks = Record<HostHookKind, OciHook[]>;

export interface HookState {
  ociVersion: string;
  id: string;
  status: "creating" | "created" | "running" | "stopped";
  pid: number;
  bundle: string;
  annotations: Record<string, string>;
}

const hookError = (message: string) => new TaskError("TASK_HOOK_FAILED", message);

function checkHook(kind: string, i: number, h: unknown, id: string): OciHook {
  const where = `container ${id}: hooks.${kind}[${i}]`;
  if (typeof h !== "object" || h === null) throw new TaskError("TASK_INVALID", `${where}: not an object`);
  const { path, args, env, timeout } = h as Record<string, unknown>;
  if (typeof path !== "string" || !path.startsWith("/"))
    throw new TaskError("TASK_INVALID", `${where}: path must be an absolute path`);
  const strings = (v: unknown) =>
    v === undefined || (Array.isArray(v) && v.every((s) => typeof s === "string"));
  if (!strings(args) || !strings(env))
    throw new TaskError("TASK_INVALID", `${where}: args and env must be arrays of strings`);
  if (timeout !== undefined && (typeof timeout !== "number" || !Number.isInteger(timeout) || timeout <= 0))
    throw new TaskError("TASK_INVALID", `${where}: timeout must be a positive number of seconds`);
  return h as OciHook;
}

/**
 * Validates the spec's hooks and returns the host's. Unknown kinds (and the `hooks` object not
 * being one) are refused with the kind named.
 */
export function hostHooksOf(hooks: unknown, id: string): HostHooks {
  const out: HostHooks = { prestart: [], createRuntime: [], poststart: [], poststop: [] };
  if (hooks === undefined || hooks === null) return out;
  if (typeof hooks !== "object" || Array.isArray(hooks))
    throw new TaskError("TASK_INVALID", `container ${id}: hooks must be an object`);
  for (const [kind, list] of Object.entries(hooks)) {
    const host = (HOST_HOOK_KINDS as readonly string[]).includes(kind);
    const guest = (GUEST_HOOK_KINDS as readonly string[]).includes(kind);
    if (!host && !guest)
      throw new TaskError(
        "TASK_UNSUPPORTED",
        `container ${id}: hooks.${kind} is not a hook kind tskata can run (${[...HOST_HOOK_KINDS, ...GUEST_HOOK_KINDS].join(", ")})`,
      );
    if (!Array.isArray(list))
      throw new TaskError("TASK_INVALID", `container ${id}: hooks.${kind} must be an array`);
    const checked = list.map((h, i) => checkHook(kind, i, h, id));
    if (host) out[kind as HostHookKind] = checked;
  }
  return out;
}

/** Runs one hook with the state on stdin; rejects TASK_HOOK_FAILED naming the hook and why. */
export function runHook(kind: HostHookKind, i: number, hook: OciHook, state: HookState): Promise<void> {
  const name = `${kind} hook ${i} (${hook.path})`;
  return new Promise((resolve, reject) => {
    const env = Object.fromEntries(
      (hook.env ?? []).map((e) => {
        const at = e.indexOf("=");
        return at < 0 ? [e, ""] : [e.slice(0, at), e.slice(at + 1)];
      }),
    );
    const [argv0, ...args] = hook.args?.length ? hook.args : [hook.path];
    const child = spawn(hook.path, args, { argv0, env, stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    let timedOut = false;
    const timer =
      hook.timeout === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
          }, hook.timeout * 1000);
    child.stderr.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    child.stdin.on("error", () => {}); // a hook may exit without reading the state
    child.stdin.end(JSON.stringify(state));
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(hookError(`${name}: ${err.message}`));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (timedOut) return reject(hookError(`${name}: timed out after ${hook.timeout} s`));
      if (code === 0) return resolve();
      const why = stderr.trim() ? `: ${stderr.trim()}` : "";
      reject(hookError(`${name}: exited with ${code ?? signal}${why}`));
    });
  });
}

/** Runs the hooks of one kind in order; the first failure rejects. */
export async function runHooks(
  kind: HostHookKind,
  hooks: readonly OciHook[],
  state: HookState,
): Promise<void> {
  for (const [i, hook] of hooks.entries()) await runHook(kind, i, hook, state);
}

/** The guest spec's hooks: only the kinds crun runs inside the VM. */
export function guestHooksOf(hooks: unknown): Partial<Record<GuestHookKind, OciHook[]>> | undefined {
  if (typeof hooks !== "object" || hooks === null) return undefined;
  const out: Partial<Record<GuestHookKind, OciHook[]>> = {};
  for (const kind of GUEST_HOOK_KINDS) {
    const list = (hooks as Record<string, unknown>)[kind];
    if (Array.isArray(list) && list.length > 0) out[kind] = list as OciHook[];
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
