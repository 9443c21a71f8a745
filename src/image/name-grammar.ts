// The one grammar of image names, NAME[:TAG][@DIGEST], as the distribution spec has it
// (reference/regexp.go): path components of lowercase letters and digits joined by ".",
// "_", "__" or dashes; a tag of 1 to 128 of [A-Za-z0-9_.-] not starting with "." or "-";
// at most 255 characters before the tag; a first component that is a registry host when it
// has a dot or a port, is "localhost", is a bracketed IPv6 address or has an uppercase
// letter (docker's rule). Store names (reference.ts) and registry references
// (registry/reference.ts) both split with it and word its problems in their own errors.

export const MAX_NAME_LENGTH = 255;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DOMAIN_NAME = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*$/;
const IPV6 = /^\[[0-9a-fA-F:.]+\]$/;
const PORT = /^[0-9]{1,5}$/;

export interface NameParts {
  /** Everything before the tag and digest: "host:5000/team/app". */
  name: string;
  host?: string;
  /** The repository path without the host, by component. */
  path: string[];
  tag?: string;
  digest?: string;
}

/** What is wrong with a name, for the caller to word. */
export type NameProblem =
  | { kind: "empty" }
  | { kind: "too-long" }
  | { kind: "tag"; tag: string }
  | { kind: "component"; component: string; whole: string }
  | { kind: "host"; part: string; why: string };

/** Docker's rule for "the first component is a registry host". */
export const looksLikeHost = (first: string): boolean =>
  first.includes(".") || first.includes(":") || first === "localhost" || first.startsWith("[") || first.toLowerCase() !== first;

/** Why host[:port] or [ipv6][:port] is not a registry name, or undefined when it is one. */
export function hostProblem(registry: string): { part: string; why: string } | undefined {
  let host = registry;
  let port: string | undefined;
  const part = `registry ${JSON.stringify(registry)}`;
  if (host.startsWith("[")) {
    const close = host.indexOf("]");
    if (close === -1) return { part, why: "unclosed [ of an IPv6 address" };
    const after = host.slice(close + 1);
    if (after !== "" && !after.startsWith(":")) return { part, why: "expected :PORT after the IPv6 address" };
    if (after !== "") port = after.slice(1);
    host = host.slice(0, close + 1);
    if (!IPV6.test(host)) return { part, why: "not an IPv6 address" };
  } else {
    const c = host.indexOf(":");
    if (c !== -1) {
      port = host.slice(c + 1);
      host = host.slice(0, c);
    }
    if (!DOMAIN_NAME.test(host)) return { part, why: "not a host name" };
  }
  if (port !== undefined && (!PORT.test(port) || Number(port) < 1 || Number(port) > 65535)) {
    return { part: `registry port ${JSON.stringify(port)}`, why: "must be a number from 1 to 65535" };
  }
  return undefined;
}

/**
 * Split and check NAME[:TAG][@DIGEST]. `checkDigest` checks the digest text (digest.ts's
 * grammar) and throws the caller's error; everything else wrong comes back as a problem.
 */
export function splitName(text: string, checkDigest: (digest: string) => string): NameParts | NameProblem {
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at !== -1) {
    digest = checkDigest(rest.slice(at + 1));
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return { kind: "tag", tag };
  }
  if (rest === "") return { kind: "empty" };
  if (rest.length > MAX_NAME_LENGTH) return { kind: "too-long" };
  const path = rest.split("/");
  let host: string | undefined;
  if (path.length > 1 && looksLikeHost(path[0]!)) {
    host = path.shift()!;
    const problem = hostProblem(host);
    if (problem) return { kind: "host", ...problem };
  }
  for (const component of path) {
    if (!PATH_COMPONENT.test(component)) return { kind: "component", component, whole: rest };
  }
  return { name: rest, path, ...(host !== undefined && { host }), ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) };
}

export const isNameProblem = (r: NameParts | NameProblem): r is NameProblem => "kind" in r;
