// Docker credential helpers (docker-credential-helpers' protocol): `docker-credential-NAME get`
// reads the server URL on stdin and prints {"ServerURL","Username","Secret"}; `store` reads
// that JSON; `erase` reads the server URL. A Username of "<token>" means Secret is an
// identity token. A helper that does not know the server says "credentials not found".
import { registryError, shown } from "./registry-error.ts";
import type { Credentials } from "./credentials.ts";

const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const NOT_FOUND = /credentials not found/i;
const TIMEOUT_MS = 30_000;
const MAX_OUTPUT = 1024 * 1024;

export type Env = Record<string, string | undefined>;

async function runHelper(name: string, action: "get" | "store" | "erase", input: string, env: Env): Promise<{ code: number; out: string; err: string }> {
  if (!HELPER_NAME.test(name)) throw registryError(`credential helper name ${shown(name)} is not a plain name`);
  const program = `docker-credential-${name}`;
  const path = Bun.which(program, { PATH: env.PATH ?? "" });
  if (!path) throw registryError(`credential helper ${program} is not on PATH`);
  const child = Bun.spawn([path, action], {
    env: env as Record<string, string>,
    stdin: new TextEncoder().encode(input),
    stdout: "pipe",
    stderr: "pipe",
    timeout: TIMEOUT_MS,
  });
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (out.length > MAX_OUTPUT) throw registryError(`credential helper ${program} ${action}: output larger than ${MAX_OUTPUT} bytes`);
  return { code, out, err: err.trim() || out.trim() };
}

/** Credentials the helper holds for `serverURL`, or undefined when it has none. */
export async function helperGet(name: string, serverURL: string, env: Env): Promise<Credentials | undefined> {
  const { code, out, err } = await runHelper(name, "get", serverURL, env);
  if (code !== 0) {
    if (NOT_FOUND.test(err)) return undefined;
    throw registryError(`credential helper docker-credential-${name} get ${shown(serverURL)} failed (exit ${code}): ${shown(err)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(out);
  } catch {
    throw registryError(`credential helper docker-credential-${name} get ${shown(serverURL)}: output is not JSON: ${shown(out)}`);
  }
  const o = parsed as { Username?: unknown; Secret?: unknown };
  if (typeof o !== "object" || o === null || typeof o.Secret !== "string" || (o.Username !== undefined && typeof o.Username !== "string")) {
    throw registryError(`credential helper docker-credential-${name} get ${shown(serverURL)}: expected {"Username","Secret"} strings`);
  }
  if (o.Secret === "") return undefined;
  if (o.Username === "<token>") return { identityToken: o.Secret };
  return { username: (o.Username as string | undefined) ?? "", password: o.Secret };
}

export async function helperStore(name: string, serverURL: string, username: string, secret: string, env: Env): Promise<void> {
  const { code, err } = await runHelper(name, "store", JSON.stringify({ ServerURL: serverURL, Username: username, Secret: secret }), env);
  if (code !== 0) throw registryError(`credential helper docker-credential-${name} store ${shown(serverURL)} failed (exit ${code}): ${shown(err)}`);
}

/** Erase; true when the helper had the entry. */
export async function helperErase(name: string, serverURL: string, env: Env): Promise<boolean> {
  const { code, err } = await runHelper(name, "erase", serverURL, env);
  if (code === 0) return true;
  if (NOT_FOUND.test(err)) return false;
  throw registryError(`credential helper docker-credential-${name} erase ${shown(serverURL)} failed (exit ${code}): ${shown(err)}`);
}
