// Rootless: bunc run by a user other than root. `--rootless auto` (the default) means
// rootless when the effective uid is not 0, as with runc. Rootless changes the defaults of
// where state and images live, and how cgroups are used (runtime/container-cgroup.ts).
//   state   $XDG_RUNTIME_DIR/bunc, or /tmp/bunc-<uid> (0700, checked to be ours) when unset
//   images  $XDG_DATA_HOME/bunc, or ~/.local/share/bunc
import { joinPath as join } from "../linux/posix-path.ts";
import { nodeFs } from "../node-fs.ts";
import { BuncError } from "../errors.ts";

export type RootlessMode = "true" | "false" | "auto";

export const isRootless = (mode: RootlessMode, euid = process.geteuid!()): boolean => mode === "true" || (mode === "auto" && euid !== 0);

type Env = Record<string, string | undefined>;

export const ROOT_STATE_DIR = "/run/bunc";
export const ROOT_IMAGE_STORE = "/var/lib/bunc";

/** Where container state lives by default for this caller. */
export function defaultStateRoot(euid = process.geteuid!(), env: Env = process.env): string {
  if (euid === 0) return ROOT_STATE_DIR;
  const runtimeDir = env.XDG_RUNTIME_DIR;
  if (runtimeDir && runtimeDir.startsWith("/")) return join(runtimeDir, "bunc");
  return privateTmpDir(euid);
}

/** The fallback state dir when no XDG_RUNTIME_DIR is set: per user, under /tmp. */
export const privateTmpDir = (euid: number) => `/tmp/bunc-${euid}`;

/** Where the image store lives by default for this caller. */
export function defaultImageStore(euid = process.geteuid!(), env: Env = process.env, home = safeHome(env)): string {
  if (euid === 0) return ROOT_IMAGE_STORE;
  const dataHome = env.XDG_DATA_HOME;
  if (dataHome && dataHome.startsWith("/")) return join(dataHome, "bunc");
  return join(home, ".local/share/bunc");
}

function safeHome(env: Env): string {
  if (env.HOME && env.HOME.startsWith("/")) return env.HOME;
  try {
    return (require("node:os") as typeof import("node:os")).homedir();
  } catch {
    return "/";
  }
}

/**
 * Make (or check) a directory under a world-writable one such as /tmp: another user may
 * have made it first to read or plant our state, so it must be a real directory, ours,
 * and closed to others.
 */
export function ensurePrivateDir(path: string, euid = process.geteuid!()): void {
  try {
    nodeFs().mkdirSync(path, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw new BuncError("system", `cannot create ${path}: ${(err as Error).message}`);
  }
  const st = nodeFs().lstatSync(path);
  if (!st.isDirectory()) throw new BuncError("system", `${path}: is not a directory; remove it or pass --root`);
  if (st.uid !== euid) throw new BuncError("system", `${path}: belongs to uid ${st.uid}, not to you (uid ${euid}); remove it or pass --root`);
  if (st.mode & 0o077) throw new BuncError("system", `${path}: mode ${(st.mode & 0o777).toString(8)} lets others in; chmod 700 it or pass --root`);
}
