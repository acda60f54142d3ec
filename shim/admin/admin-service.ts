/**
 * tskata.admin.v1.Admin: the RPC edge of the admin endpoint. Domain errors become ttrpc codes
 * here and only here (the code leads the message, e.g. "ADMIN_DEBUG_EXEC_DISABLED: …").
 */
import type { Admin } from "../../protocol/generated/tskata/admin/v1/admin_pb.js";
import { Code } from "../../protocol/ttrpc/codes.js";
import { TtrpcError } from "../../protocol/ttrpc/errors.js";
import type { ServiceImpl } from "../../protocol/ttrpc/service.js";
import type { AdminSubject } from "./admin-subject.js";
import { DebugExecs } from "./debug-exec.js";
import { AdminError, type AdminErrorCode } from "./errors.js";
import { inspect } from "./inspect.js";
import { renderMetrics } from "./metrics.js";

const WIRE_CODES: Record<AdminErrorCode, Code> = {
  ADMIN_DEBUG_EXEC_DISABLED: Code.PERMISSION_DENIED,
  ADMIN_NO_SANDBOX: Code.FAILED_PRECONDITION,
  ADMIN_EXEC_NOT_FOUND: Code.NOT_FOUND,
  ADMIN_INVALID: Code.INVALID_ARGUMENT,
};

function toWire(err: unknown): unknown {
  if (err instanceof AdminError) return new TtrpcError(WIRE_CODES[err.code], `${err.code}: ${err.message}`);
  return err;
}

export function createAdminService(subject: AdminSubject): ServiceImpl<typeof Admin> {
  const debug = new DebugExecs(() => subject.current());
  const impl: ServiceImpl<typeof Admin> = {
    inspect: (req) => inspect(subject, { skipGuest: req.skipGuest }),
    metrics: async () => ({ text: await renderMetrics(subject) }),
    async debugExec(req) {
      return debug.start({
        args: [...req.args],
        env: [...req.env],
        terminal: req.terminal,
        stdin: req.stdin,
        rows: req.rows,
        columns: req.columns,
      });
    },
    async debugWriteStdin(req) {
      return { written: await debug.write(req.execId, req.data) };
    },
    async debugCloseStdin(req) {
      await debug.closeStdin(req.execId);
      return {};
    },
    async debugReadOutput(req, ctx) {
      const r = await debug.read(req.execId, req.stderr, req.maxBytes, ctx.signal);
      return { data: r.data, eof: r.eof };
    },
    async debugResize(req) {
      await debug.resize(req.execId, req.rows, req.columns);
      return {};
    },
    async debugSignal(req) {
      await debug.signal(req.execId, req.signal);
      return {};
    },
    async debugWait(req, ctx) {
      return { exitStatus: await debug.wait(req.execId, ctx.signal) };
    },
  };
  for (const [name, fn] of Object.entries(impl) as [string, (...a: unknown[]) => unknown][]) {
    (impl as Record<string, unknown>)[name] = async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw toWire(err);
      }
    };
  }
  return impl;
}
