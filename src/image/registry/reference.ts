// Registry references as docker and podman read them:
//   alpine                         → docker.io/library/alpine:latest
//   user/app:1.0                   → docker.io/user/app:1.0
//   host:5000/team/app@sha256:…    → registry host:5000, no tag
//   docker://quay.io/org/app:tag   → skopeo's transport prefix is accepted
// The name grammar is the distribution spec's (reference/regexp.go), the digest grammar
// image-spec descriptor.md's, with sha256 and sha512 lengths checked. A first path component
// is a registry when it has a dot or a port, is `localhost`, or is a bracketed IPv6 address.
import { registryError } from "./registry-error.ts";
import { checkDigest } from "./digest.ts";
import { hostProblem, isNameProblem, MAX_NAME_LENGTH, splitName } from "../name-grammar.ts";

export interface RegistryReference {
  /** The registry as a person names it: "docker.io", "localhost:5000", "[::1]:5000". */
  registry: string;
  /** host[:port] the HTTP API is served on: "registry-1.docker.io" for docker.io. */
  apiHost: string;
  /** Repository path without the registry: "library/alpine". */
  repository: string;
  tag?: string;
  digest?: string;
}

export const DOCKER_HUB = "docker.io";
export const DOCKER_HUB_API_HOST = "registry-1.docker.io";
const DOCKER_HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);
const TRANSPORT = "docker://";

const bad = (input: string, part: string, why: string) =>
  registryError(`invalid image reference ${JSON.stringify(input)}: ${part}: ${why}`);

/** Parse `[docker://][REGISTRY/]PATH[:TAG][@DIGEST]`; a missing tag and digest means `latest`. */
export function parseRegistryReference(input: string): RegistryReference {
  const rest = input.startsWith(TRANSPORT) ? input.slice(TRANSPORT.length) : input;
  if (rest === "") throw bad(input, "name", "empty");
  const parts = splitName(rest, (d) => checkDigest(d, `invalid image reference ${JSON.stringify(input)}: digest`));
  if (isNameProblem(parts)) {
    switch (parts.kind) {
      case "empty":
        throw bad(input, "name", "empty");
      case "too-long":
        throw bad(input, "name", `longer than ${MAX_NAME_LENGTH} characters`);
      case "tag":
        throw bad(input, `tag ${JSON.stringify(parts.tag)}`, "must be 1 to 128 of [A-Za-z0-9_.-], not starting with . or -");
      case "host":
        throw bad(input, parts.part, parts.why);
      case "component": {
        const c = parts.component;
        if (c === "") throw bad(input, "repository", `${JSON.stringify(parts.whole)} has an empty path component`);
        const why = c.toLowerCase() !== c ? "must be lowercase" : "must be lowercase letters and digits separated by '.', '_', '__' or dashes";
        throw bad(input, `repository component ${JSON.stringify(c)}`, why);
      }
    }
  }
  const path = [...parts.path];
  let registry = parts.host ?? DOCKER_HUB;
  if (DOCKER_HUB_ALIASES.has(registry)) registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && path.length === 1) path.unshift("library");
  const tag = parts.tag ?? (parts.digest === undefined ? "latest" : undefined);
  return {
    registry,
    apiHost: registry === DOCKER_HUB ? DOCKER_HUB_API_HOST : registry,
    repository: path.join("/"),
    ...(tag !== undefined ? { tag } : {}),
    ...(parts.digest !== undefined ? { digest: parts.digest } : {}),
  };
}

/** The reference written back the way docker prints it in full: registry/repository[:tag][@digest]. */
export function formatRegistryReference(ref: RegistryReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ""}${ref.digest !== undefined ? `@${ref.digest}` : ""}`;
}

/** Check a host[:port] or [ipv6][:port] registry name; returns it unchanged. */
export function checkRegistry(input: string, registry: string): string {
  const problem = hostProblem(registry);
  if (problem) throw bad(input, problem.part, problem.why);
  return registry;
}
