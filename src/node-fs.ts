// node:fs, loaded on first use. A Bun process pays ~2.5 ms to load it: `create` and `run`
// start the container's init (stage-start.ts) before anything they import needs it, and the
// modules on that path reach node:fs through this.
export const nodeFs = (): typeof import("node:fs") => require("node:fs");
