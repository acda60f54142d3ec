/**
 * The in-guest agent. Runs under tini (PID 1) in the guest: early init (mounts, clock, hostname,
 * modules, shared fs), then serves the agent API over ttrpc on the host channel.
 *
 * Outside a VM (development): TSKATA_AGENT_NOINIT=1 skips the PID-1 duties and poweroff, and
 * TSKATA_AGENT_CMDLINE replaces /proc/cmdline.
 */
import { readFileSync } from "node:fs";
import v8 from "node:v8";
import { sync } from "../native/system.js";
import { Health } from "../protocol/generated/tskata/agent/v1/health_pb.js";
import { Server } from "../protocol/ttrpc/server.js";
import { registerService } from "../protocol/ttrpc/service.js";
import { openChannel } from "./channel/open-channel.js";
import { earlyInit, LATE_MODULES } from "./init/boot.js";
import { BootPhases } from "./init/boot-phases.js";
import { guestUptimeSeconds, setClock } from "./init/clock.js";
import { type BootConfig, parseBootConfig } from "./init/cmdline.js";
import { loadModules } from "./init/modules.js";
import { mountEarly } from "./init/mounts.js";
import { watchPowerButtonWhenReady } from "./init/power-button.js";
import { powerOff } from "./init/poweroff.js";
import { createLogger, flushLogsSync, type Logger } from "./logger.js";
import { createHealthService } from "./rpc/health-service.js";
import { registerAgent } from "./rpc/register-agent.js";
import { compileValidators } from "./spec/validate.js";
import { AGENT_VERSION } from "./version.js";

let noInit = false;

function bootConfig(): BootConfig {
  return parseBootConfig(process.env["TSKATA_AGENT_CMDLINE"] ?? readFileSync("/proc/cmdline", "utf8"));
}

function uptime(): number {
  try {
    return guestUptimeSeconds();
  } catch {
    return process.uptime();
  }
}

function shutdown(log: Logger, reason: string, poweroff: boolean): void {
  log.info({ reason, poweroff, uptime: uptime() }, "agent shutting down");
  flushLogsSync();
  if (poweroff && !noInit) {
    try {
      powerOff((msg) => process.stderr.write(`${msg}\n`));
    } catch (err) {
      process.stderr.write(`poweroff failed: ${(err as Error).message}\n`);
    }
  }
  process.exit(0);
}

async function main(): Promise<void> {
  const bootPhases = new BootPhases(process.env);
  bootPhases.mark("agent-start", uptime());
  noInit = process.env["TSKATA_AGENT_NOINIT"] === "1";
  if (!noInit) mountEarly();
  const cfg = bootConfig();
  const log = createLogger(cfg.logLevel);
  log.info(
    { version: AGENT_VERSION, node: process.version, pid: process.pid, uptime: uptime() },
    "agent starting",
  );
  process.on("uncaughtException", (err) => {
    log.fatal({ err }, "uncaught exception: agent exits");
    flushLogsSync();
    process.exit(1);
  });

  if (!noInit) await earlyInit(cfg, log);
  bootPhases.mark("agent-init", uptime());

  const server = new Server({
    onCallError: (service, method, err) =>
      log.warn({ service, method, code: err.code, err: err.message }, "call failed"),
  });
  registerService(server, Health, createHealthService({ bootPhases: () => bootPhases.list() }));
  registerAgent(
    server,
    { sharedDir: cfg.sharedFsPath, noInit, log },
    {
      setClock: (ns) => {
        if (!noInit) setClock(ns);
      },
      // Written-back data is on the host before the reply (the host may quit QEMU on it); the
      // poweroff itself waits until the response is out.
      destroy: (poweroff) => {
        if (!noInit) sync();
        setTimeout(() => shutdown(log, "DestroySandbox", poweroff), 100);
      },
    },
  );

  // Late work (modules off the critical path) waits until the host's first
  // session has had its calls answered: on a one-vCPU TCG guest a modprobe running beside the
  // first Health.Check delayed the answer by ~0.3 s. Starts after LATE_WORK_FALLBACK_MS anyway.
  let lateStarted = false;
  const startLateWork = (): void => {
    if (lateStarted || noInit) return;
    lateStarted = true;
    lateWork(log);
  };
  setTimeout(startLateWork, LATE_WORK_FALLBACK_MS).unref();

  const channel = openChannel(cfg, log);
  await channel.start((stream) => {
    const conn = server.serveStream(stream);
    stream.once("close", () => conn.close("host channel closed"));
    setTimeout(startLateWork, LATE_WORK_AFTER_SESSION_MS);
  });
  bootPhases.mark("agent-listening", uptime());
  log.info({ channel: channel.description, uptime: uptime() }, "agent listening");

  for (const sig of ["SIGTERM", "SIGINT", "SIGPWR"] as const) {
    process.on(sig, () => shutdown(log, sig, true));
  }
  if (!noInit) watchPowerButton(log);
}

const LATE_WORK_AFTER_SESSION_MS = 500;
const LATE_WORK_FALLBACK_MS = 5_000;

function lateWork(log: Logger): void {
  loadModules(LATE_MODULES).then(
    (loaded) => log.debug({ loaded }, "late kernel modules loaded"),
    (err: Error) => log.warn({ err: err.message }, "late kernel modules failed to load"),
  );
}

/** The initramfs loaded `button` and `evdev`: the power button is there when the agent listens. */
function watchPowerButton(log: Logger): void {
  watchPowerButtonWhenReady(
    () => shutdown(log, "power button", true),
    (err) => log.warn({ err: err.message }, "power button watch failed"),
    200,
  ).then((stream) => {
    if (stream === undefined) log.debug("no ACPI power button: poweroff only through DestroySandbox");
  });
}

function start(): void {
  main().catch((err: unknown) => {
    const e = err as { code?: string; message?: string };
    process.stderr.write(`tskata agent failed to start: ${e.code ?? "ERROR"}: ${e.message ?? String(err)}\n`);
    flushLogsSync();
    process.exit(1);
  });
}

// The guest image runs the agent from a V8 startup snapshot taken at build time (module
// evaluation done ahead of time); run from source or a plain bundle, it starts at once.
if (v8.startupSnapshot?.isBuildingSnapshot()) {
  compileValidators();
  v8.startupSnapshot.setDeserializeMainFunction(start);
} else start();
