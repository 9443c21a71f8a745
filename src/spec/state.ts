// The state document of runtime.md: what `bunc state` prints and what hooks read on stdin.
import * as v from "valibot";

// "paused" is not in the spec's list; runc reports it for a frozen container, and
// containerd and podman expect it.
export const CONTAINER_STATUSES = ["creating", "created", "running", "stopped", "paused"] as const;
export type ContainerStatus = (typeof CONTAINER_STATUSES)[number];

export const StateSchema = v.looseObject({
  ociVersion: v.string(),
  id: v.string(),
  status: v.picklist(CONTAINER_STATUSES),
  // REQUIRED on Linux while created or running; 0 or absent once stopped.
  pid: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(2 ** 31 - 1))),
  bundle: v.string(),
  annotations: v.optional(v.record(v.string(), v.string())),
});

export type State = v.InferOutput<typeof StateSchema>;
