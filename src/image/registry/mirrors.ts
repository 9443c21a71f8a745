// Per-registry settings, like containers-registries.conf(5)'s [[registry]] tables, as JSON:
//   {
//     "registries": {
//       "docker.io":        { "mirrors": [{ "location": "127.0.0.1:5000/hub", "insecure": true }] },
//       "registry.lan:5000": { "insecure": true },
//       "old.example/team": { "location": "new.example/team" },
//       "quay.io/bad":      { "blocked": true }
//     }
//   }
// A key is a prefix: a registry, or registry/namespace…; the longest prefix matching at a
// path boundary applies. `location` replaces the prefix (default: the prefix itself);
// mirrors are tried in order before it, each with its own `insecure` and `pullFromMirror`
// ("all", "digest-only", "tag-only"; default "all"). `insecure` allows plain HTTP and
// unverified TLS for that location; loopback hosts (localhost, 127.0.0.0/8, ::1) are always
// allowed plain HTTP, as docker does. Unknown fields are errors: a typo must not silently
// turn a setting off.
import { readFileSync } from "node:fs";
import * as v from "valibot";
import { registryError, shown } from "./registry-error.ts";
import { checkRegistry, DOCKER_HUB, DOCKER_HUB_API_HOST, type RegistryReference } from "./reference.ts";

const Location = v.pipe(v.string(), v.minLength(1));
const MirrorSchema = v.strictObject({
  location: Location,
  insecure: v.optional(v.boolean()),
  pullFromMirror: v.optional(v.picklist(["all", "digest-only", "tag-only"])),
});
const RegistrySchema = v.strictObject({
  location: v.optional(Location),
  insecure: v.optional(v.boolean()),
  blocked: v.optional(v.boolean()),
  mirrors: v.optional(v.array(MirrorSchema)),
});
const ConfigSchema = v.strictObject({ registries: v.record(v.string(), RegistrySchema) });

export type RegistriesConfig = v.InferOutput<typeof ConfigSchema>;
export type RegistryEntry = v.InferOutput<typeof RegistrySchema>;

/** Where bunc reads registry settings when no file is named. */
export const DEFAULT_REGISTRIES_CONFIG = "/etc/bunc/registries.json";
const MAX_CONFIG_BYTES = 1024 * 1024;

/** One place a repository can be pulled from: a mirror or the registry itself. */
export interface RegistryEndpoint {
  /** host[:port] of the HTTP API. */
  apiHost: string;
  /** host[:port] credentials are looked up under ("docker.io" for Docker Hub). */
  authRegistry: string;
  repository: string;
  /** Plain HTTP and unverified TLS allowed. */
  insecure: boolean;
  mirror: boolean;
}

export const EMPTY_REGISTRIES_CONFIG: RegistriesConfig = { registries: {} };

/** Parse and check a registries config document; `source` names it in errors. */
export function parseRegistriesConfig(text: string, source: string): RegistriesConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw registryError(`${source}: not valid JSON: ${(err as Error).message}`);
  }
  const result = v.safeParse(ConfigSchema, parsed, { abortEarly: true });
  if (!result.success) {
    const issue = result.issues[0];
    const path = (issue.path ?? [])
      .map((p) => (typeof p.key === "number" ? `[${p.key}]` : /^[A-Za-z_]\w*$/.test(String(p.key)) ? `.${String(p.key)}` : `[${JSON.stringify(p.key)}]`))
      .join("")
      .replace(/^\./, "");
    const why =
      issue.type === "strict_object" && issue.expected === "never"
        ? `unknown field ${shown(String(issue.input))}`
        : issue.input === undefined
          ? "required but missing"
          : `expected ${issue.expected}, got ${shown(JSON.stringify(issue.input) ?? String(issue.input))}`;
    throw registryError(`${source}: ${path || "top level"}: ${why}`);
  }
  for (const [prefix, entry] of Object.entries(result.output.registries)) {
    checkPrefix(source, `registries[${shown(prefix)}]`, prefix);
    if (entry.location !== undefined) checkPrefix(source, `registries[${shown(prefix)}].location`, entry.location);
    entry.mirrors?.forEach((m, i) => checkPrefix(source, `registries[${shown(prefix)}].mirrors[${i}].location`, m.location));
  }
  return result.output;
}

function checkPrefix(source: string, field: string, prefix: string): void {
  const [host, ...path] = prefix.split("/");
  try {
    checkRegistry(prefix, host!);
  } catch (err) {
    throw registryError(`${source}: ${field}: ${(err as Error).message}`);
  }
  if (path.some((p) => !/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/.test(p))) {
    throw registryError(`${source}: ${field}: ${shown(prefix)} is not registry[/namespace…]`);
  }
}

/** Read a config file; without a path, the default file when it exists, else no settings. */
export function loadRegistriesConfig(path?: string): RegistriesConfig {
  const file = path ?? DEFAULT_REGISTRIES_CONFIG;
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    if (path === undefined && (err as NodeJS.ErrnoException).code === "ENOENT") return EMPTY_REGISTRIES_CONFIG;
    throw registryError(`registries config ${file}: ${(err as Error).message}`);
  }
  if (bytes.length > MAX_CONFIG_BYTES) throw registryError(`registries config ${file}: larger than ${MAX_CONFIG_BYTES} bytes`);
  return parseRegistriesConfig(bytes.toString("utf8"), `registries config ${file}`);
}

/** localhost, 127.0.0.0/8 and ::1, with or without a port: docker allows plain HTTP there. */
export function isLoopbackHost(hostPort: string): boolean {
  let host = hostPort;
  if (host.startsWith("[")) host = host.slice(1, host.indexOf("]"));
  else if (host.includes(":")) host = host.slice(0, host.lastIndexOf(":"));
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The longest configured prefix of registry/repository, at a path boundary. */
function matchPrefix(config: RegistriesConfig, name: string): [string, RegistryEntry] | undefined {
  let best: [string, RegistryEntry] | undefined;
  for (const [prefix, entry] of Object.entries(config.registries)) {
    if (name === prefix || name.startsWith(`${prefix}/`)) {
      if (!best || prefix.length > best[0].length) best = [prefix, entry];
    }
  }
  return best;
}

/** A registry's own endpoint, for requests that name no repository (`bunc login`). */
export const registryEndpoint = (registry: string, insecure: boolean): RegistryEndpoint => endpointAt(registry, "", insecure, false);

function endpointAt(location: string, rest: string, insecure: boolean, mirror: boolean): RegistryEndpoint {
  const slash = location.indexOf("/");
  const host = slash === -1 ? location : location.slice(0, slash);
  const pathPrefix = slash === -1 ? "" : location.slice(slash + 1);
  const repository = [pathPrefix, rest].filter((p) => p !== "").join("/");
  const hub = host === DOCKER_HUB || host === DOCKER_HUB_API_HOST || host === "index.docker.io";
  return {
    apiHost: hub ? DOCKER_HUB_API_HOST : host,
    authRegistry: hub ? DOCKER_HUB : host,
    repository,
    insecure: insecure || isLoopbackHost(host),
    mirror,
  };
}

/**
 * The places to pull `ref` from, in order: its mirrors (those allowed for a tag or digest
 * pull), then its location. `insecureRegistries` adds hosts allowed plain HTTP.
 */
export function endpointsFor(ref: RegistryReference, config: RegistriesConfig = EMPTY_REGISTRIES_CONFIG, insecureRegistries: readonly string[] = []): RegistryEndpoint[] {
  const name = `${ref.registry}/${ref.repository}`;
  const match = matchPrefix(config, name);
  const extraInsecure = (host: string) => insecureRegistries.includes(host);
  if (!match) {
    const ep = endpointAt(ref.registry, ref.repository, extraInsecure(ref.registry), false);
    return [ep];
  }
  const [prefix, entry] = match;
  if (entry.blocked) throw registryError(`registry ${shown(prefix)} is blocked by the registries config (pulling ${shown(name)})`);
  const rest = name.slice(prefix.length + 1);
  const byDigest = ref.digest !== undefined;
  const endpoints: RegistryEndpoint[] = [];
  for (const m of entry.mirrors ?? []) {
    const mode = m.pullFromMirror ?? "all";
    if ((mode === "digest-only" && !byDigest) || (mode === "tag-only" && byDigest)) continue;
    const host = m.location.split("/")[0]!;
    endpoints.push(endpointAt(m.location, rest, (m.insecure ?? false) || extraInsecure(host), true));
  }
  const location = entry.location ?? prefix;
  const host = location.split("/")[0]!;
  endpoints.push(endpointAt(location, rest, (entry.insecure ?? false) || extraInsecure(host), false));
  return endpoints;
}
