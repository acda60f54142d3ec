/** The pod grouping key of the task whose bundle is the current directory (start, serve, delete). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { groupId } from "../bundle/annotations.js";

export function bundleGroupId(bundle: string, taskId: string): string {
  let annotations: Record<string, string> | undefined;
  try {
    annotations = (
      JSON.parse(readFileSync(join(bundle, "config.json"), "utf8")) as {
        annotations?: Record<string, string>;
      }
    ).annotations;
  } catch {
    // A bundle without a readable config.json fails later, in Create, with a clear error.
  }
  return groupId(taskId, annotations);
}
