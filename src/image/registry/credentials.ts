// Registry credentials from the files podman and docker keep them in (containers-auth.json(5),
// docker's config.json), looked up in this order, the first file that knows the registry
// winning:
//   $REGISTRY_AUTH_FILE
//   $XDG_RUNTIME_DIR/containers/auth.json   (/run/containers/$UID/auth.json without XDG_RUNTIME_DIR)
//   $DOCKER_CONFIG/config.json
//   $HOME/.docker/config.json
// Within a file: `credHelpers[registry]`, then `auths` (the most specific of
// registry/namespace/repo, …, registry; docker's old "https://host/v1/" keys too), then
// `credsStore`. An `auths` entry holds base64("user:password") in `auth` or an
// `identitytoken`. saveCredentials/removeCredentials write the same format (for login/logout).
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { registryError, shown } from "./registry-error.ts";
import { type Env, helperErase, helperGet, helperStore } from "./cred-helper.ts";
import { DOCKER_HUB } from "./reference.ts";

export type Credentials = { username: string; password: string } | { identityToken: string };

interface AuthEntry {
  auth?: string;
  identitytoken?: string;
}
interface AuthFile {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
  [other: string]: unknown;
}

const MAX_AUTH_FILE = 4 * 1024 * 1024;
// Docker asks helpers and writes config.json under this name for Docker Hub.
const DOCKER_HUB_LEGACY_KEY = "https://index.docker.io/v1/";

/** The auth files to read, in lookup order. */
export function authFileCandidates(env: Env = process.env): string[] {
  const files: string[] = [];
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  files.push(defaultContainersAuthFile(env));
  if (env.DOCKER_CONFIG) files.push(join(env.DOCKER_CONFIG, "config.json"));
  files.push(join(env.HOME || homedir(), ".docker", "config.json"));
  return [...new Set(files)];
}

function defaultContainersAuthFile(env: Env): string {
  return env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, "containers", "auth.json") : `/run/containers/${process.getuid?.() ?? 0}/auth.json`;
}

/** The file `bunc login` writes: $REGISTRY_AUTH_FILE, else the containers auth.json. */
export function defaultAuthFileForWrite(env: Env = process.env): string {
  return env.REGISTRY_AUTH_FILE || defaultContainersAuthFile(env);
}

function readAuthFile(path: string): AuthFile | undefined {
  let text: string;
  try {
    const bytes = readFileSync(path);
    if (bytes.length > MAX_AUTH_FILE) throw registryError(`auth file ${path}: larger than ${MAX_AUTH_FILE} bytes`);
    text = bytes.toString("utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err instanceof Error && err.name === "BuncError" ? err : registryError(`auth file ${path}: ${(err as Error).message}`);
  }
  if (text.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw registryError(`auth file ${path}: not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw registryError(`auth file ${path}: expected a JSON object`);
  const file = parsed as AuthFile;
  const isMap = (x: unknown) => x === undefined || (typeof x === "object" && x !== null && !Array.isArray(x));
  if (!isMap(file.auths)) throw registryError(`auth file ${path}: "auths" must be an object`);
  if (!isMap(file.credHelpers)) throw registryError(`auth file ${path}: "credHelpers" must be an object`);
  if (file.credsStore !== undefined && typeof file.credsStore !== "string") throw registryError(`auth file ${path}: "credsStore" must be a string`);
  return file;
}

/** An auths key as a plain "host[/path]": docker's "https://host/v1/" keys lose scheme and path. */
export function normalizeAuthKey(key: string): string {
  let k = key;
  const scheme = /^https?:\/\//.exec(k);
  if (scheme) {
    k = k.slice(scheme[0].length);
    const slash = k.indexOf("/");
    if (slash !== -1) k = k.slice(0, slash);
  }
  const slash = k.indexOf("/");
  const host = slash === -1 ? k : k.slice(0, slash);
  if (host === "index.docker.io" || host === "registry-1.docker.io") k = DOCKER_HUB + k.slice(host.length);
  return k;
}

/** registry/a/b/c, registry/a/b, registry/a, registry: most specific first. */
function scopesOf(registry: string, repository?: string): string[] {
  const scopes: string[] = [];
  if (repository) {
    const parts = repository.split("/");
    for (let n = parts.length; n > 0; n--) scopes.push(`${registry}/${parts.slice(0, n).join("/")}`);
  }
  scopes.push(registry);
  return scopes;
}

function decodeEntry(path: string, key: string, entry: AuthEntry): Credentials | undefined {
  if (typeof entry !== "object" || entry === null) throw registryError(`auth file ${path}: auths[${shown(key)}] must be an object`);
  if (typeof entry.identitytoken === "string" && entry.identitytoken !== "") return { identityToken: entry.identitytoken };
  if (entry.auth === undefined || entry.auth === "") return undefined;
  if (typeof entry.auth !== "string") throw registryError(`auth file ${path}: auths[${shown(key)}].auth must be a string`);
  const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon === -1) throw registryError(`auth file ${path}: auths[${shown(key)}].auth is not base64 of "user:password"`);
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

const helperServer = (registry: string) => (registry === DOCKER_HUB ? DOCKER_HUB_LEGACY_KEY : registry);

export interface CredentialLookup {
  env?: Env;
  /** Read only these files instead of the default list (still in order). */
  files?: string[];
}

/** Credentials for a repository of a registry, or undefined for anonymous access. */
export async function findCredentials(registry: string, repository?: string, opts: CredentialLookup = {}): Promise<Credentials | undefined> {
  const env = opts.env ?? process.env;
  for (const path of opts.files ?? authFileCandidates(env)) {
    const file = readAuthFile(path);
    if (!file) continue;
    const helper = file.credHelpers?.[registry] ?? (registry === DOCKER_HUB ? file.credHelpers?.[DOCKER_HUB_LEGACY_KEY] : undefined);
    if (helper !== undefined) {
      if (typeof helper !== "string") throw registryError(`auth file ${path}: credHelpers[${shown(registry)}] must be a string`);
      const found = await helperGet(helper, helperServer(registry), env);
      if (found) return found;
      continue;
    }
    const auths = file.auths ?? {};
    const normalized = Object.keys(auths).map((key) => ({ key, plain: normalizeAuthKey(key) }));
    for (const scope of scopesOf(registry, repository)) {
      // An exact key beats a legacy one that normalizes to the same scope.
      const hit = normalized.find((k) => k.key === scope) ?? normalized.find((k) => k.plain === scope);
      if (!hit) continue;
      const found = decodeEntry(path, hit.key, auths[hit.key]!);
      if (found) return found;
    }
    if (file.credsStore) {
      const found = await helperGet(file.credsStore, helperServer(registry), env);
      if (found) return found;
    }
  }
  return undefined;
}

function writeAuthFile(path: string, file: AuthFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, `${JSON.stringify(file, null, "\t")}\n`, { mode: 0o600 });
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw registryError(`auth file ${path}: cannot write: ${(err as Error).message}`);
  }
}

export interface CredentialWrite {
  env?: Env;
  /** The file to change; default defaultAuthFileForWrite(). */
  file?: string;
}

/**
 * Save credentials for `key` (a registry, or registry/namespace for repository-scoped ones):
 * through the file's credential helper for that registry when it names one, else as an
 * `auths` entry. Other entries and fields of the file are kept.
 */
export async function saveCredentials(key: string, username: string, password: string, opts: CredentialWrite = {}): Promise<void> {
  const env = opts.env ?? process.env;
  const path = opts.file ?? defaultAuthFileForWrite(env);
  if (username.includes(":")) throw registryError(`username ${shown(username)}: must not contain ":"`);
  const file = readAuthFile(path) ?? {};
  const registry = key.split("/")[0]!;
  const helper = file.credHelpers?.[registry] ?? file.credsStore;
  if (helper) {
    await helperStore(helper, helperServer(registry), username, password, env);
    return;
  }
  const auths = { ...(file.auths ?? {}) };
  for (const k of Object.keys(auths)) if (k !== key && normalizeAuthKey(k) === key) delete auths[k];
  auths[key] = { auth: Buffer.from(`${username}:${password}`).toString("base64") };
  writeAuthFile(path, { ...file, auths });
}

/** Remove the entry for `key` (and docker's legacy spellings of it); true when there was one. */
export async function removeCredentials(key: string, opts: CredentialWrite = {}): Promise<boolean> {
  const env = opts.env ?? process.env;
  const path = opts.file ?? defaultAuthFileForWrite(env);
  const file = readAuthFile(path);
  if (!file) return false;
  const registry = key.split("/")[0]!;
  const helper = file.credHelpers?.[registry] ?? file.credsStore;
  let removed = helper ? await helperErase(helper, helperServer(registry), env) : false;
  const auths = { ...(file.auths ?? {}) };
  for (const k of Object.keys(auths)) {
    if (k === key || normalizeAuthKey(k) === key) {
      delete auths[k];
      removed = true;
    }
  }
  if (existsSync(path) && Object.keys(auths).length !== Object.keys(file.auths ?? {}).length) writeAuthFile(path, { ...file, auths });
  return removed;
}
