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
const MAX_NAME_LENGTH = 255;
const TRANSPORT = "docker://";

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_NAME = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*$/;
const IPV6 = /^\[[0-9a-fA-F:.]+\]$/;
const PORT = /^[0-9]{1,5}$/;
const TAG = /^[\w][\w.-]{0,127}$/;

const bad = (input: string, part: string, why: string) =>
  registryError(`invalid image reference ${JSON.stringify(input)}: ${part}: ${why}`);

/** Parse `[docker://][REGISTRY/]PATH[:TAG][@DIGEST]`; a missing tag and digest means `latest`. */
export function parseRegistryReference(input: string): RegistryReference {
  let rest = input.startsWith(TRANSPORT) ? input.slice(TRANSPORT.length) : input;
  if (rest === "") throw bad(input, "name", "empty");

  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at !== -1) {
    const text = rest.slice(at + 1);
    digest = checkDigest(text, `invalid image reference ${JSON.stringify(input)}: digest`);
    rest = rest.slice(0, at);
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(input, `tag ${JSON.stringify(tag)}`, "must be 1 to 128 of [A-Za-z0-9_.-], not starting with . or -");
  }
  if (rest === "") throw bad(input, "name", "empty");
  if (rest.length > MAX_NAME_LENGTH) throw bad(input, "name", `longer than ${MAX_NAME_LENGTH} characters`);

  const parts = rest.split("/");
  let registry = DOCKER_HUB;
  if (parts.length > 1 && looksLikeRegistry(parts[0]!)) {
    registry = checkRegistry(input, parts.shift()!);
  }
  for (const component of parts) {
    if (component === "") throw bad(input, "repository", `${JSON.stringify(rest)} has an empty path component`);
    if (!PATH_COMPONENT.test(component)) {
      const why = component.toLowerCase() !== component ? "must be lowercase" : "must be lowercase letters and digits separated by '.', '_', '__' or dashes";
      throw bad(input, `repository component ${JSON.stringify(component)}`, why);
    }
  }
  if (DOCKER_HUB_ALIASES.has(registry)) registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift("library");
  if (tag === undefined && digest === undefined) tag = "latest";
  return {
    registry,
    apiHost: registry === DOCKER_HUB ? DOCKER_HUB_API_HOST : registry,
    repository: parts.join("/"),
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
}

/** The reference written back the way docker prints it in full: registry/repository[:tag][@digest]. */
export function formatRegistryReference(ref: RegistryReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ""}${ref.digest !== undefined ? `@${ref.digest}` : ""}`;
}

/** Docker's rule for "is the first component a host": a dot, a port, localhost, or uppercase. */
function looksLikeRegistry(first: string): boolean {
  return first.includes(".") || first.includes(":") || first === "localhost" || first.startsWith("[") || first.toLowerCase() !== first;
}

/** Check a host[:port] or [ipv6][:port] registry name; returns it unchanged. */
export function checkRegistry(input: string, registry: string): string {
  let host = registry;
  let port: string | undefined;
  if (host.startsWith("[")) {
    const close = host.indexOf("]");
    if (close === -1) throw bad(input, `registry ${JSON.stringify(registry)}`, "unclosed [ of an IPv6 address");
    const after = host.slice(close + 1);
    if (after !== "" && !after.startsWith(":")) throw bad(input, `registry ${JSON.stringify(registry)}`, "expected :PORT after the IPv6 address");
    if (after !== "") port = after.slice(1);
    host = host.slice(0, close + 1);
    if (!IPV6.test(host)) throw bad(input, `registry ${JSON.stringify(registry)}`, "not an IPv6 address");
  } else {
    const c = host.indexOf(":");
    if (c !== -1) {
      port = host.slice(c + 1);
      host = host.slice(0, c);
    }
    if (!DOMAIN_NAME.test(host)) throw bad(input, `registry ${JSON.stringify(registry)}`, "not a host name");
  }
  if (port !== undefined && (!PORT.test(port) || Number(port) < 1 || Number(port) > 65535)) {
    throw bad(input, `registry port ${JSON.stringify(port)}`, "must be a number from 1 to 65535");
  }
  return registry;
}
