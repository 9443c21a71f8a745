// Reading and checking a bundle's config.json: JSON syntax, then the schema, then the rules
// that tie fields together (namespaces, mappings, sysctls…). Every refusal names the field
// path, such as `mounts[2].destination`, and the value at fault.
import * as v from "valibot";
import { configError } from "../errors.ts";
import { isCapabilityName } from "../linux/capabilities.ts";
import { readConfigText } from "./config-file.ts";
import { parseJsonText } from "./json-text.ts";
import {
  HOOK_NAMES,
  RLIMIT_TYPES,
  ProcessSchema,
  SpecSchema,
  type Hook,
  type IDMapping,
  type Linux,
  type LinuxNamespace,
  type Mount,
  type NamespaceType,
  type Process,
  type Spec,
} from "./runtime-config.ts";

/** Read and check `<bundle>/config.json`. */
export function loadConfig(bundleDir: string): Spec {
  const { file, text } = readConfigText(bundleDir);
  return parseConfig(text, file);
}

/** Parse and check the text of a config.json; `file` names it in syntax errors. */
export function parseConfig(text: string, file: string): Spec {
  const doc = parseJsonText(text, file);
  // valibot takes an array for an object; at the top that would only blame ociVersion.
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw configError("top level", `expected a JSON object, got ${show(doc)}`);
  }
  const spec = checkSchema(SpecSchema, doc);
  validateSpec(spec);
  return spec;
}

/** Parse and check a process JSON (`exec --process FILE`): the `process` object of config.md. */
export function parseProcessText(text: string, file: string): Process {
  const doc = parseJsonText(text, file);
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw configError("process", `expected a JSON object, got ${show(doc)}`);
  }
  const process = checkSchema(ProcessSchema, doc, "process");
  checkProcess(process, "process");
  return process;
}

// --- schema issues as config errors ---------------------------------------------------------

/** Run a schema over parsed JSON; the first issue becomes a config error. */
export function checkSchema<S extends v.GenericSchema>(schema: S, input: unknown, at = ""): v.InferOutput<S> {
  const result = v.safeParse(schema, input, { abortEarly: true });
  if (result.success) return result.output;
  const issue = result.issues[0];
  let field = at;
  for (const step of issue.path ?? []) field = joinField(field, step.key);
  throw configError(field || "top level", describeIssue(issue));
}

function describeIssue(issue: v.BaseIssue<unknown>): string {
  if (issue.kind === "schema") {
    if (issue.input === undefined) return "required but missing";
    if (issue.type === "custom") return `${show(issue.input)}: ${issue.message}`;
    return `expected ${issue.expected}, got ${show(issue.input)}`;
  }
  switch (issue.type) {
    case "integer":
      return `${show(issue.input)} is not an integer`;
    case "min_value":
    case "max_value":
      return `${show(issue.input)} is out of range (must be ${issue.expected})`;
    default:
      return `${show(issue.input)}: ${issue.message}`;
  }
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function joinField(base: string, key: unknown): string {
  if (typeof key === "number") return `${base}[${key}]`;
  const name = String(key);
  if (IDENT.test(name)) return base ? `${base}.${name}` : name;
  return `${base}[${JSON.stringify(name)}]`;
}

/** A value for an error message: JSON spelling (so NUL shows as \u0000), cut short. */
export function show(value: unknown): string {
  const s = JSON.stringify(value) ?? String(value);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

// --- rules ----------------------------------------------------------------------------------

/** The rules the schema cannot say. Throws the first config error found. */
export function validateSpec(spec: Spec): void {
  checkOciVersion(spec.ociVersion);
  if (spec.root.path === "") throw configError("root.path", "must not be empty");
  noNul("root.path", spec.root.path);
  if (spec.process) checkProcess(spec.process, "process");
  spec.mounts?.forEach((m, i) => checkMount(m, `mounts[${i}]`));
  for (const name of HOOK_NAMES) spec.hooks?.[name]?.forEach((h, i) => checkHook(h, `hooks.${name}[${i}]`));
  const linux = spec.linux ?? {};
  const namespaces = checkNamespaces(linux.namespaces ?? []);
  checkUserNamespace(linux, namespaces);
  if (spec.process && namespaces.has("user") && !joinsExisting(namespaces.get("user"))) checkProcessIdsMapped(spec.process, linux);
  for (const field of ["hostname", "domainname"] as const) {
    const name = spec[field];
    if (name === undefined || name === "") continue;
    noNul(field, name);
    if (!namespaces.has("uts")) {
      throw configError(field, `cannot set ${show(name)} without a private UTS namespace (add "uts" to linux.namespaces)`);
    }
  }
  checkSysctl(linux.sysctl ?? {}, namespaces);
  checkLinuxPaths(linux, namespaces);
}

// SemVer 2.0.0: MAJOR.MINOR.PATCH, optional -prerelease and +build.
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

function checkOciVersion(version: string): void {
  const m = SEMVER.exec(version);
  if (!m) throw configError("ociVersion", `${show(version)} is not a semantic version (MAJOR.MINOR.PATCH)`);
  // Compatibility holds within a major version; 1.x is all there is.
  if (m[1] !== "1") throw configError("ociVersion", `${show(version)}: only runtime-spec 1.x is supported`);
}

/** Process rules; shared by create (config.json) and exec (--process). */
export function checkProcess(p: Process, at: string): void {
  if (p.args.length === 0) throw configError(`${at}.args`, "must name the program to run (got [])");
  if (p.args[0] === "") throw configError(`${at}.args[0]`, "the program name must not be empty");
  p.args.forEach((a, i) => noNul(`${at}.args[${i}]`, a));
  absolutePath(`${at}.cwd`, p.cwd);
  p.env?.forEach((e, i) => checkEnv(`${at}.env[${i}]`, e));

  const caps = p.capabilities ?? {};
  for (const set of ["bounding", "effective", "inheritable", "permitted", "ambient"] as const) {
    caps[set]?.forEach((name, i) => {
      if (!isCapabilityName(name)) throw configError(`${at}.capabilities.${set}[${i}]`, `unknown capability ${show(name)}`);
    });
  }

  const seen = new Set<string>();
  p.rlimits?.forEach((r, i) => {
    const field = `${at}.rlimits[${i}]`;
    if (!(RLIMIT_TYPES as readonly string[]).includes(r.type)) {
      throw configError(`${field}.type`, `unknown rlimit type ${show(r.type)}`);
    }
    if (seen.has(r.type)) throw configError(`${field}.type`, `${show(r.type)} is given twice`);
    seen.add(r.type);
    if (r.soft > r.hard) throw configError(`${field}.soft`, `soft limit ${r.soft} is above the hard limit ${r.hard}`);
  });

  if (p.user) {
    // (uid_t)-1 tells setresuid/setresgid "leave unchanged": the process would stay root.
    if (p.user.uid === NO_ID) throw configError(`${at}.user.uid`, `${NO_ID} is not a valid uid`);
    if (p.user.gid === NO_ID) throw configError(`${at}.user.gid`, `${NO_ID} is not a valid gid`);
    p.user.additionalGids?.forEach((g, i) => {
      if (g === NO_ID) throw configError(`${at}.user.additionalGids[${i}]`, `${NO_ID} is not a valid gid`);
    });
  }
  if (p.consoleSize) {
    // struct winsize holds unsigned shorts
    for (const side of ["height", "width"] as const) {
      const n = p.consoleSize[side];
      if (n > 0xffff) throw configError(`${at}.consoleSize.${side}`, `${n} is out of range (must be <=65535)`);
    }
  }
  for (const field of ["apparmorProfile", "selinuxLabel"] as const) {
    const s = p[field];
    if (s !== undefined) noNul(`${at}.${field}`, s);
  }
}

const NO_ID = 2 ** 32 - 1;

function checkEnv(field: string, entry: string): void {
  noNul(field, entry);
  const eq = entry.indexOf("=");
  if (eq < 0) throw configError(field, `${show(entry)} is not of the form NAME=value`);
  if (eq === 0) throw configError(field, `${show(entry)} has an empty name`);
}

function checkMount(m: Mount, at: string): void {
  // runc once took relative destinations from old bundles; the spec says absolute on Linux.
  absolutePath(`${at}.destination`, m.destination);
  if (m.source !== undefined) noNul(`${at}.source`, m.source);
  if (m.type !== undefined) noNul(`${at}.type`, m.type);
  m.options?.forEach((o, i) => noNul(`${at}.options[${i}]`, o));
  m.uidMappings?.forEach((map, i) => checkMapping(map, `${at}.uidMappings[${i}]`));
  m.gidMappings?.forEach((map, i) => checkMapping(map, `${at}.gidMappings[${i}]`));
}

function checkHook(h: Hook, at: string): void {
  absolutePath(`${at}.path`, h.path);
  h.args?.forEach((a, i) => noNul(`${at}.args[${i}]`, a));
  h.env?.forEach((e, i) => checkEnv(`${at}.env[${i}]`, e));
}

/** The namespaces asked for, by type; a "path" of "" counts as none (Go writes no path so). */
function checkNamespaces(list: LinuxNamespace[]): Map<NamespaceType, LinuxNamespace> {
  const byType = new Map<NamespaceType, LinuxNamespace>();
  list.forEach((ns, i) => {
    if (byType.has(ns.type)) throw configError(`linux.namespaces[${i}].type`, `${show(ns.type)} is given twice`);
    byType.set(ns.type, ns);
    if (ns.path !== undefined && ns.path !== "") absolutePath(`linux.namespaces[${i}].path`, ns.path);
  });
  return byType;
}

const joinsExisting = (ns: LinuxNamespace | undefined) => ns?.path !== undefined && ns.path !== "";

function checkUserNamespace(linux: Linux, namespaces: Map<NamespaceType, LinuxNamespace>): void {
  const uid = linux.uidMappings ?? [];
  const gid = linux.gidMappings ?? [];
  const userNs = namespaces.get("user");
  if (!userNs) {
    if (uid.length > 0) throw configError("linux.uidMappings", 'mappings need a user namespace (add "user" to linux.namespaces)');
    if (gid.length > 0) throw configError("linux.gidMappings", 'mappings need a user namespace (add "user" to linux.namespaces)');
  } else if (!joinsExisting(userNs)) {
    if (uid.length === 0) throw configError("linux.uidMappings", "a new user namespace needs uid mappings");
    if (gid.length === 0) throw configError("linux.gidMappings", "a new user namespace needs gid mappings");
  }
  uid.forEach((m, i) => checkMapping(m, `linux.uidMappings[${i}]`));
  gid.forEach((m, i) => checkMapping(m, `linux.gidMappings[${i}]`));
}

/** In a new user namespace the process's ids must be mapped, or setresuid fails with a bare EINVAL. */
function checkProcessIdsMapped(process: Process, linux: Linux): void {
  const mapped = (id: number, maps: IDMapping[]) => maps.some((m) => id >= m.containerID && id < m.containerID + m.size);
  const ranges = (maps: IDMapping[]) => maps.map((m) => (m.size === 1 ? `${m.containerID}` : `${m.containerID}-${m.containerID + m.size - 1}`)).join(", ");
  const user = process.user ?? { uid: 0, gid: 0 };
  const uids = linux.uidMappings ?? [];
  const gids = linux.gidMappings ?? [];
  if (!mapped(user.uid, uids)) throw configError("process.user.uid", `${user.uid} is not mapped in the user namespace (linux.uidMappings map ${ranges(uids)})`);
  if (!mapped(user.gid, gids)) throw configError("process.user.gid", `${user.gid} is not mapped in the user namespace (linux.gidMappings map ${ranges(gids)})`);
  user.additionalGids?.forEach((g, i) => {
    if (!mapped(g, gids)) throw configError(`process.user.additionalGids[${i}]`, `${g} is not mapped in the user namespace (linux.gidMappings map ${ranges(gids)})`);
  });
}

function checkMapping(m: IDMapping, at: string): void {
  if (m.size < 1) throw configError(`${at}.size`, `${m.size} is out of range (must be >=1)`);
  // The kernel takes ids below 2^32 only; a range running past it would wrap.
  if (m.containerID + m.size > 2 ** 32) throw configError(at, `containerID ${m.containerID} + size ${m.size} passes 2^32`);
  if (m.hostID + m.size > 2 ** 32) throw configError(at, `hostID ${m.hostID} + size ${m.size} passes 2^32`);
}

// Sysctls that belong to a namespace, so the container may set them. Everything else would
// change the host. The prefixes cover kernel.{msg,sem,shm}* and their *_next_id.
const IPC_SYSCTL_PREFIXES = ["kernel.msg", "kernel.sem", "kernel.shm", "fs.mqueue."];

function checkSysctl(sysctl: Record<string, string>, namespaces: Map<NamespaceType, LinuxNamespace>): void {
  for (const [key, value] of Object.entries(sysctl)) {
    const field = `linux.sysctl[${JSON.stringify(key)}]`;
    // One value per key: a newline would let a second setting ride along (CVE-2022-0811).
    if (/[\n\r\0]/.test(value)) throw configError(field, `value ${show(value)} contains a newline or NUL byte`);
    checkSysctlKey(field, key);
    // sysctl(8) also takes slashes as separators (then dots are part of names, as in eth0.100)
    const dotted = key.includes("/") ? key.replaceAll("/", ".") : key;
    if (dotted === "kernel.hostname" || dotted === "kernel.domainname") {
      const name = dotted.slice("kernel.".length);
      throw configError(field, `set the ${name} with the "${name}" field, not a sysctl`);
    }
    if (IPC_SYSCTL_PREFIXES.some((p) => dotted.startsWith(p))) {
      if (!namespaces.has("ipc")) throw configError(field, 'needs an IPC namespace (add "ipc" to linux.namespaces)');
    } else if (dotted.startsWith("net.")) {
      if (!namespaces.has("network")) throw configError(field, 'needs a network namespace (add "network" to linux.namespaces)');
    } else {
      throw configError(field, "not a namespaced sysctl: setting it would change the host");
    }
  }
}

function checkSysctlKey(field: string, key: string): void {
  if (/[\n\r\0\s]/.test(key)) throw configError(field, "the name contains a newline, NUL byte or blank");
  // The name becomes a path under /proc/sys: no empty, "." or ".." steps.
  const parts = key.split(key.includes("/") ? "/" : ".");
  if (parts.some((p) => p === "" || p === "." || p === "..")) throw configError(field, "not a valid sysctl name");
}

function checkLinuxPaths(linux: Linux, namespaces: Map<NamespaceType, LinuxNamespace>): void {
  for (const list of ["maskedPaths", "readonlyPaths"] as const) {
    const paths = linux[list] ?? [];
    paths.forEach((p, i) => absolutePath(`linux.${list}[${i}]`, p));
    // Without a mount namespace these would mask or freeze the host's own /proc and /sys.
    if (paths.length > 0 && !namespaces.has("mount")) {
      throw configError(`linux.${list}`, 'needs a private mount namespace (add "mount" to linux.namespaces)');
    }
  }
  // Without one it would change the propagation of the host's own mounts (runc refuses too).
  if (linux.rootfsPropagation && !namespaces.has("mount")) {
    throw configError("linux.rootfsPropagation", 'needs a private mount namespace (add "mount" to linux.namespaces)');
  }
  linux.devices?.forEach((d, i) => {
    absolutePath(`linux.devices[${i}].path`, d.path);
    if (d.type !== "p" && (d.major === undefined || d.minor === undefined)) {
      throw configError(`linux.devices[${i}]`, `a device of type ${show(d.type)} needs major and minor numbers`);
    }
  });
  if (linux.timeOffsets && Object.keys(linux.timeOffsets).length > 0 && !namespaces.has("time")) {
    throw configError("linux.timeOffsets", 'needs a time namespace (add "time" to linux.namespaces)');
  }
  if (linux.cgroupsPath !== undefined) noNul("linux.cgroupsPath", linux.cgroupsPath);
  if (linux.mountLabel !== undefined) noNul("linux.mountLabel", linux.mountLabel);
}

// --- small checks ---------------------------------------------------------------------------

// C strings end at NUL: what the kernel saw would differ from what was checked.
function noNul(field: string, value: string): void {
  if (value.includes("\0")) throw configError(field, `${show(value)} contains a NUL byte`);
}

function absolutePath(field: string, value: string): void {
  noNul(field, value);
  if (!value.startsWith("/")) throw configError(field, `${show(value)} is not an absolute path`);
}
