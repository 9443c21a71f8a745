// OCI hooks (runtime-spec config.md "POSIX-platform Hooks", runtime.md "Lifecycle"): each gets
// the container state JSON on its stdin, exactly its own `env`, its `args` (args[0] is argv0),
// and dies at `timeout`. Where they run and what a failure does is up to the caller:
//   prestart, createRuntime  CLI, runtime namespaces, during create     failure fails create
//   createContainer          init, container namespaces, before pivot    failure fails create
//   startContainer           init, in the container, before the process  failure stops it
//   poststart                CLI, after the process started              failure warns
//   poststop                 CLI, at delete after the process is gone    failure warns
import { BuncError } from "../errors.ts";
import type { Hook, HookName, Spec } from "../spec/runtime-config.ts";

export interface HookState {
  ociVersion: string;
  id: string;
  status: string;
  pid?: number;
  bundle: string;
  annotations: Record<string, string>;
}

export function hookState(config: Spec, id: string, status: string, pid: number | undefined, bundle: string): HookState {
  return { ociVersion: config.ociVersion, id, status, pid, bundle, annotations: (config.annotations ?? {}) as Record<string, string> };
}

function runOne(hook: Hook, field: string, state: HookState): void {
  const args = hook.args?.length ? hook.args : [hook.path];
  let result;
  try {
    result = Bun.spawnSync({
      cmd: [hook.path, ...args.slice(1)],
      argv0: args[0],
      env: Object.fromEntries((hook.env ?? []).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])),
      // A hook that never reads its stdin must not hurt us: Bun ignores SIGPIPE, and a
      // short write is not an error here.
      stdin: Buffer.from(JSON.stringify(state)),
      stdout: "inherit",
      stderr: "pipe",
      timeout: hook.timeout ? hook.timeout * 1000 : undefined,
      killSignal: "SIGKILL",
      cwd: "/",
      // Its own process group, so a timeout takes its children too (below).
      detached: true,
    });
  } catch (err) {
    throw new BuncError("system", `${field} (${hook.path}): cannot run: ${(err as Error).message}`);
  }
  if (result.exitCode === 0) return;
  const timedOut = hook.timeout !== undefined && result.signalCode === "SIGKILL";
  if (timedOut) {
    try {
      process.kill(-result.pid, "SIGKILL");
    } catch {
      // The group is gone already.
    }
  }
  const why = result.signalCode
    ? timedOut
      ? `timed out after ${hook.timeout}s`
      : `killed by ${result.signalCode}`
    : `exited with status ${result.exitCode}`;
  const stderr = result.stderr?.toString().trim().split("\n").slice(-3).join(" / ");
  throw new BuncError("system", `${field} (${hook.path}) ${why}${stderr ? `: ${stderr}` : ""}`);
}

/** Run the hooks of `name` in order; the first failure throws. */
export function runHooks(config: Spec, name: HookName, state: HookState): void {
  (config.hooks?.[name] ?? []).forEach((hook, i) => runOne(hook, `hooks.${name}[${i}]`, state));
}

/** Run every hook of `name`, even after failures; return the failures' messages. */
export function runHooksWarning(config: Spec, name: HookName, state: HookState): string[] {
  const failures: string[] = [];
  (config.hooks?.[name] ?? []).forEach((hook, i) => {
    try {
      runOne(hook, `hooks.${name}[${i}]`, state);
    } catch (err) {
      failures.push((err as Error).message);
    }
  });
  return failures;
}

export const hasHooks = (config: Spec, name: HookName) => (config.hooks?.[name]?.length ?? 0) > 0;
