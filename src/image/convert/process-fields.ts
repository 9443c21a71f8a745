// The verbatim process fields of image-spec conversion.md: Entrypoint and Cmd → args,
// Env → env, WorkingDir → cwd, each with the caller's overrides applied the way docker and
// podman apply them.
import { imageError } from "./image-error.ts";

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * process.args: Entrypoint followed by Cmd, where `override` (the caller's arguments, when
 * non-empty) takes Cmd's place. Nothing to run at all is an error naming the image.
 */
export function processArgs(entrypoint: string[] | null | undefined, cmd: string[] | null | undefined, override: string[] | undefined, image: string): string[] {
  const tail = override && override.length > 0 ? override : (cmd ?? []);
  const args = [...(entrypoint ?? []), ...tail];
  if (args.length === 0) {
    throw imageError("Config.Entrypoint, Config.Cmd", `image ${image} has neither, and no command was given`);
  }
  return args;
}

const ENV_NAME = /^[^=\0]+$/;

/** Split "NAME=value", checking the name; `field` names where the entry came from. */
function splitEnv(entry: string, field: string): [string, string] {
  const eq = entry.indexOf("=");
  const name = eq < 0 ? entry : entry.slice(0, eq);
  if (eq < 0 || !ENV_NAME.test(name) || entry.includes("\0")) {
    throw imageError(field, `${JSON.stringify(entry)} is not NAME=value`);
  }
  return [name, entry.slice(eq + 1)];
}

/**
 * process.env: the image's Env, then `overrides` (a later name replaces an earlier one in
 * place), then defaults for names neither set: PATH as runc and podman give it, and the
 * extras (HOME, TERM) the caller computed.
 */
export function processEnv(imageEnv: string[] | null | undefined, overrides: string[] | undefined, defaults: Record<string, string>): string[] {
  const env = new Map<string, string>();
  (imageEnv ?? []).forEach((e, i) => {
    const [name, value] = splitEnv(e, `Config.Env[${i}]`);
    env.set(name, value);
  });
  (overrides ?? []).forEach((e, i) => {
    const [name, value] = splitEnv(e, `env override [${i}]`);
    env.set(name, value);
  });
  for (const [name, value] of Object.entries({ PATH: DEFAULT_PATH, ...defaults })) if (!env.has(name)) env.set(name, value);
  return [...env].map(([name, value]) => `${name}=${value}`);
}

/** process.cwd: the override, else WorkingDir, else "/"; it must be absolute. */
export function processCwd(workingDir: string | null | undefined, override: string | undefined): string {
  const field = override !== undefined ? "cwd override" : "Config.WorkingDir";
  const cwd = override ?? (workingDir || "/");
  if (!cwd.startsWith("/")) throw imageError(field, `${JSON.stringify(cwd)} is not an absolute path`);
  if (cwd.includes("\0")) throw imageError(field, `${JSON.stringify(cwd)} contains a NUL byte`);
  return cwd;
}
