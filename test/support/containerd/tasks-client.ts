/**
 * A client of containerd's own gRPC Tasks API (containerd.services.tasks.v1.Tasks), the calls
 * containerd's Go client makes for a task: what `ctr` cannot express (create without start,
 * kill of a created task, runtime options on Create, DeleteProcess of a created exec). Every
 * call carries the containerd namespace in its metadata, as containerd requires.
 */
import * as grpc from "@grpc/grpc-js";
import { Tasks } from "../../../protocol/generated/containerd/services/tasks/v1/tasks_pb.js";
import { bindGrpcService, type GrpcServiceClient } from "../cri/cri-client.js";

export interface TasksClient {
  tasks: GrpcServiceClient<typeof Tasks>;
  close(): void;
}

function withNamespace(namespace: string): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set("containerd-namespace", namespace);
        next(metadata, listener);
      },
    });
}

/** `address`: containerd's gRPC socket path. */
export function connectTasks(
  address: string,
  namespace = "default",
  defaultTimeoutMs = 120_000,
): TasksClient {
  const channel = new grpc.Client(`unix://${address}`, grpc.credentials.createInsecure(), {
    interceptors: [withNamespace(namespace)],
  });
  return { tasks: bindGrpcService(channel, Tasks, defaultTimeoutMs), close: () => channel.close() };
}
