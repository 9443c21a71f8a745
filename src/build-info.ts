// Version and commit of this build. `build.ts` bakes them in with `--define`; a run from
// source (`bun src/main.ts`) has no defines and reports "dev" / "unknown".
declare const BUNC_VERSION: string | undefined;
declare const BUNC_COMMIT: string | undefined;

export const version: string = typeof BUNC_VERSION === "string" ? BUNC_VERSION : "dev";
export const commit: string = typeof BUNC_COMMIT === "string" ? BUNC_COMMIT : "unknown";
