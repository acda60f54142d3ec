/**
 * The shim's admin endpoint: serves tskata.admin.v1.Admin on `<socket dir>/admin.sock` (the
 * sandbox's fixed-length socket directory, recorded in resources.json) while a sandbox runs.
 * TaskManager tells it of each sandbox it starts; it stops serving when that VM is gone
 * (counting a death when the VM was not stopped). The socket is 0600: root's only.
 */
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import type { Logger } from "pino";
import { Admin } from "../../protocol/generated/tskata/admin/v1/admin_pb.js";
import { Server } from "../../protocol/ttrpc/server.js";
import { registerService } from "../../protocol/ttrpc/service.js";
import { agentRpcLatency, type RpcLatency } from "../agent-client/rpc-latency.js";
import { sandboxPaths } from "../hypervisor/sandbox-resources.js";
import type { Container } from "../task/container.js";
import type { StartedSandbox } from "../task/task-manager.js";
import { createAdminService } from "./admin-service.js";
import type { AdminSubject } from "./admin-subject.js";
import { type HostFacts, hostFacts } from "./host-facts.js";

export interface AdminEndpointOptions {
  sandboxId: string;
  namespace: string;
  containers: () => readonly Container[];
  log: Logger;
  latency?: RpcLatency;
}

export class AdminEndpoint implements AdminSubject {
  readonly sandboxId: string;
  readonly namespace: string;
  readonly latency: RpcLatency;
  vmStarts = 0;
  vmDeaths = 0;
  readyAtMs: number | undefined;
  private started: StartedSandbox | undefined;
  private server: Server | undefined;
  private socketPath: string | undefined;
  private serving: Promise<void> = Promise.resolve();

  constructor(private readonly opts: AdminEndpointOptions) {
    this.sandboxId = opts.sandboxId;
    this.namespace = opts.namespace;
    this.latency = opts.latency ?? agentRpcLatency;
  }

  containers(): readonly Container[] {
    return this.opts.containers();
  }

  current(): StartedSandbox | undefined {
    return this.started;
  }

  hostFacts(stateDir: string, sandboxId: string): Promise<HostFacts> {
    return hostFacts(stateDir, sandboxId);
  }

  /** Where it listens now (undefined while no sandbox runs). */
  get address(): string | undefined {
    return this.socketPath;
  }

  /** TaskManager's onSandboxStarted: serve this sandbox until its VM is gone. */
  sandboxStarted(started: StartedSandbox): void {
    this.started = started;
    this.readyAtMs = Date.now();
    this.vmStarts++;
    const path = sandboxPaths(started.config.runtime.stateDir, started.sandbox.id).adminSocket;
    this.serving = this.serving.then(() => this.listen(path));
    void started.sandbox.exited.then((exit) => {
      if (this.started !== started) return;
      if (!exit.expected) this.vmDeaths++;
      this.started = undefined;
      this.serving = this.serving.then(() => this.stopServing());
    });
  }

  /** Stops serving (shim exit). */
  async close(): Promise<void> {
    this.started = undefined;
    this.serving = this.serving.then(() => this.stopServing());
    await this.serving;
  }

  private async listen(path: string): Promise<void> {
    try {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      const server = new Server({
        onCallError: (service, method, err) =>
          this.opts.log.debug({ service, method, code: err.code, msg: err.message }, "admin call failed"),
      });
      registerService(server, Admin, createAdminService(this));
      await server.listen(path);
      this.server = server;
      this.socketPath = path;
      this.opts.log.info({ socket: path }, "admin endpoint serving");
    } catch (err) {
      this.opts.log.warn({ err, socket: path }, "admin endpoint cannot listen");
    }
  }

  private async stopServing(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.socketPath = undefined;
    await server?.shutdown(0);
  }
}
