/** The task event topics a shim publishes, each with the message type it carries. */
import type { DescMessage } from "@bufbuild/protobuf";
import {
  TaskCheckpointedSchema,
  TaskCreateSchema,
  TaskDeleteSchema,
  TaskExecAddedSchema,
  TaskExecStartedSchema,
  TaskExitSchema,
  TaskOOMSchema,
  TaskPausedSchema,
  TaskResumedSchema,
  TaskStartSchema,
} from "../../protocol/generated/containerd/events/task_pb.js";

export const TOPICS = {
  "/tasks/create": TaskCreateSchema,
  "/tasks/start": TaskStartSchema,
  "/tasks/oom": TaskOOMSchema,
  "/tasks/exit": TaskExitSchema,
  "/tasks/delete": TaskDeleteSchema,
  "/tasks/exec-added": TaskExecAddedSchema,
  "/tasks/exec-started": TaskExecStartedSchema,
  "/tasks/paused": TaskPausedSchema,
  "/tasks/resumed": TaskResumedSchema,
  "/tasks/checkpointed": TaskCheckpointedSchema,
} as const satisfies Record<string, DescMessage>;

export type Topic = keyof typeof TOPICS;
