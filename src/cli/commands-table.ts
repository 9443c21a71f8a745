// What the command line accepts: global flags, each command's flags and how many arguments
// it takes, plus the short help rendered from the same table so the two cannot drift apart.
// Names and aliases follow runc so existing scripts and engines can drive bunc unchanged.
import { BuncError } from "../errors.ts";
import { defaultImageStore, defaultStateRoot } from "../runtime/rootless.ts";

export type FlagKind = "bool" | "string" | "list";

export interface FlagSpec {
  /** Long name; also the key in the parsed options. */
  name: string;
  kind: FlagKind;
  /** One-letter alias. */
  short?: string;
  /** Other long names that land on the same key. */
  aliases?: readonly string[];
  /** Placeholder shown in help, e.g. DIR. */
  value?: string;
  /** Filled in when the flag is not given. */
  default?: string;
  /** Allowed values; anything else is a usage error. */
  choices?: readonly string[];
  help: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** Argument synopsis for help, e.g. "<container-id> [signal]". */
  synopsis: string;
  /** What the arguments are, for count errors: "the container id". */
  argsNoun: string;
  min: number;
  max: number;
  /** Everything after the first argument is passed through unparsed (exec's command, ps's options). */
  stopAfterFirst?: boolean;
  /** stopAfterFirst only when this flag was given before the first argument. */
  stopAfterFirstWith?: string;
  flags: readonly FlagSpec[];
}

const str = (name: string, value: string, help: string, extra: Partial<FlagSpec> = {}): FlagSpec => ({
  name,
  kind: "string",
  value,
  help,
  ...extra,
});
const bool = (name: string, help: string, extra: Partial<FlagSpec> = {}): FlagSpec => ({ name, kind: "bool", help, ...extra });
const list = (name: string, value: string, help: string, extra: Partial<FlagSpec> = {}): FlagSpec => ({
  name,
  kind: "list",
  value,
  help,
  ...extra,
});

/** Container state: /run/bunc for root, under $XDG_RUNTIME_DIR for others (runtime/rootless.ts). */
export const DEFAULT_ROOT = defaultStateRoot();
/** Image store, an OCI image layout (src/image/store.ts): /var/lib/bunc for root, under $XDG_DATA_HOME for others. */
export const DEFAULT_STORE = defaultImageStore();

/** Accepted by every command and before the command; local help only, never inherited. */
export const HELP_FLAG: FlagSpec = bool("help", "show help", { short: "h" });
export const VERSION_FLAG: FlagSpec = bool("version", "print the version", { short: "v" });

/** Flags before the command. Except help and version they may also follow it, as with runc. */
export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  str("root", "DIR", "directory holding container state, best on tmpfs", { default: DEFAULT_ROOT }),
  str("store", "DIR", "image store, an OCI image layout", { default: DEFAULT_STORE }),
  str("log", "FILE", "write logs to FILE instead of standard error"),
  str("log-format", "FORMAT", "log format: text or json", { default: "text", choices: ["text", "json"] }),
  bool("debug", "log debug messages"),
  bool("systemd-cgroup", "accepted for compatibility"),
  str("rootless", "MODE", "run without root: true, false or auto (rootless when not run as root)", {
    default: "auto",
    choices: ["true", "false", "auto"],
  }),
  HELP_FLAG,
  VERSION_FLAG,
];

// Flags shared by create and run.
const bundle = str("bundle", "DIR", "bundle directory (default: the current directory)", { short: "b" });
const consoleSocket = str("console-socket", "PATH", "unix socket that receives the terminal's master end");
const pidfdSocket = str("pidfd-socket", "PATH", "unix socket that receives a pidfd of the process");
const pidFile = str("pid-file", "FILE", "write the process id to FILE");
const preserveFds = str("preserve-fds", "N", "pass N more file descriptors after stdio");
const noPivot = bool("no-pivot", "use chroot-style confinement instead of pivot_root");
const noNewKeyring = bool("no-new-keyring", "keep the caller's session keyring");
const format = str("format", "FORMAT", "output format: table or json", {
  short: "f",
  default: "table",
  choices: ["table", "json"],
});

// Container ids are the commonest argument; these save repeating the wording.
const ID = "<container-id>";
const theId = "the container id";
const idOnly = (name: string, summary: string, flags: readonly FlagSpec[] = []): CommandSpec => ({
  name,
  summary,
  synopsis: ID,
  argsNoun: theId,
  min: 1,
  max: 1,
  flags,
});

// The resource flags of `update` are all plain strings here; the command converts them.
const updateFlags: readonly FlagSpec[] = [
  str("resources", "FILE", "JSON file with the resources to set, - for standard input", { short: "r" }),
  str("blkio-weight", "N", "block IO weight, 10 to 1000"),
  str("cpu-period", "US", "CPU CFS period in microseconds"),
  str("cpu-quota", "US", "CPU CFS quota in microseconds"),
  str("cpu-burst", "US", "CPU CFS burst in microseconds"),
  // runc spells it in the singular; the plural is kept because people type it.
  str("cpu-share", "N", "CPU shares, a relative weight", { aliases: ["cpu-shares"] }),
  str("cpu-rt-period", "US", "real-time scheduling period in microseconds"),
  str("cpu-rt-runtime", "US", "real-time scheduling runtime in microseconds"),
  str("cpu-idle", "0|1", "set the cgroup's SCHED_IDLE policy"),
  str("cpuset-cpus", "LIST", "CPUs the container may use"),
  str("cpuset-mems", "LIST", "memory nodes the container may use"),
  str("kernel-memory", "BYTES", "kernel memory limit (obsolete, ignored)"),
  str("kernel-memory-tcp", "BYTES", "kernel TCP buffer limit (obsolete, ignored)"),
  str("memory", "BYTES", "memory limit"),
  str("memory-reservation", "BYTES", "memory soft limit"),
  str("memory-swap", "BYTES", "memory plus swap limit"),
  str("pids-limit", "N", "maximum number of processes"),
  str("l3-cache-schema", "SCHEMA", "Intel RDT L3 cache schema"),
  str("mem-bw-schema", "SCHEMA", "Intel RDT memory bandwidth schema"),
];

/** The flags of `run --image`; none of them means anything without it. */
export const IMAGE_RUN_FLAGS: readonly FlagSpec[] = [
  str("image", "REF", "run this image (pulled if it is not in the store) instead of a bundle"),
  str("name", "ID", "the container id (default: a generated one, printed with --detach)"),
  bool("rm", "delete the container when its process exits (default: keep it stopped)"),
  bool("tty", "give the process a terminal", { short: "t" }),
  bool("interactive", "keep standard input attached (default: /dev/null)", { short: "i" }),
  list("env", "KEY=VALUE", "set an environment variable (repeatable)", { short: "e" }),
  str("workdir", "DIR", "working directory in the container", { short: "w" }),
  str("user", "USER[:GROUP]", "user and group to run as, names or ids", { short: "u" }),
  str("hostname", "NAME", "the container's hostname"),
  list("volume", "SRC:DST[:ro]", "bind-mount the host's SRC at DST (repeatable)", { short: "v" }),
  bool("read-only", "mount the image's root filesystem read-only"),
  str("memory", "BYTES", "memory limit, e.g. 512m"),
  str("pids-limit", "N", "maximum number of processes"),
  str("platform", "OS/ARCH[/VARIANT]", "take this platform's image from an index (default: this machine's)"),
];

const platform = str("platform", "OS/ARCH[/VARIANT]", "take this platform's image from an index (default: this machine's)");
const none = { synopsis: "", argsNoun: "none", min: 0, max: 0 } as const;

const imageCommands: readonly CommandSpec[] = [
  {
    name: "import",
    summary: "copy an image into the store (oci:DIR[:REF], oci-archive:FILE[:REF], docker-archive:FILE[:NAME:TAG])",
    synopsis: "<source> [name[:tag]]",
    argsNoun: "the source image and an optional name",
    min: 1,
    max: 2,
    flags: [platform],
  },
  {
    name: "pull",
    summary: "copy an image from a registry into the store, named as docker does (alpine → docker.io/library/alpine:latest)",
    synopsis: "<[docker://]name[:tag|@digest]>",
    argsNoun: "the image reference",
    min: 1,
    max: 1,
    flags: [
      platform,
      bool("quiet", "print no progress", { short: "q" }),
      str("format", "FORMAT", "output: text, or json (progress and result as JSON lines)", { default: "text", choices: ["text", "json"] }),
      bool("tls-verify", "verify the registry's TLS certificate; =false also allows plain HTTP (default true)"),
      str("registries-conf", "FILE", "registries config (mirrors, insecure registries); default $BUNC_REGISTRIES_CONF, else /etc/bunc/registries.json"),
    ],
  },
  {
    name: "login",
    summary: "check credentials against a registry and save them in the auth file pull reads",
    synopsis: "<registry>",
    argsNoun: "the registry",
    min: 1,
    max: 1,
    flags: [
      str("username", "USER", "user name", { short: "u" }),
      str("password", "PASSWORD", "password (visible to other users in ps: prefer --password-stdin)", { short: "p" }),
      bool("password-stdin", "read the password from standard input"),
      str("authfile", "FILE", "auth file to write (default $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json, else ~/.docker/config.json)"),
      bool("tls-verify", "verify the registry's TLS certificate; =false also allows plain HTTP (default true)"),
    ],
  },
  {
    name: "logout",
    summary: "remove a registry's saved credentials",
    synopsis: "<registry>",
    argsNoun: "the registry",
    min: 1,
    max: 1,
    flags: [str("authfile", "FILE", "auth file to change (default as for login)")],
  },
  { name: "images", summary: "list the images in the store", ...none, flags: [format] },
  {
    name: "rmi",
    summary: "remove image names from the store (gc frees the space)",
    synopsis: "<name[:tag]|name@digest>...",
    argsNoun: "the image names",
    min: 1,
    max: Infinity,
    flags: [],
  },
  { name: "gc", summary: "delete the store's blobs no image name reaches", ...none, flags: [] },
  {
    name: "unpack",
    summary: "apply an image's layers into a new directory (an empty one, or one that does not exist)",
    synopsis: "<image> <dest>",
    argsNoun: "the image and the destination directory",
    min: 2,
    max: 2,
    flags: [platform],
  },
  {
    name: "bundle",
    summary: "make an OCI bundle from an image: DIR/rootfs from its layers, DIR/config.json from its config",
    synopsis: "<image> <dir>",
    argsNoun: "the image and the bundle directory",
    min: 2,
    max: 2,
    flags: [platform],
  },
  {
    name: "inspect",
    summary: "print an image's manifest and config as JSON",
    synopsis: "<image>",
    argsNoun: "the image",
    min: 1,
    max: 1,
    flags: [platform],
  },
];

const commandList: readonly CommandSpec[] = [
  idOnly("create", "create a container without starting its process", [
    bundle,
    consoleSocket,
    pidfdSocket,
    pidFile,
    noPivot,
    noNewKeyring,
    preserveFds,
  ]),
  idOnly("start", "start the process of a created container"),
  idOnly("state", "print a container's state as JSON"),
  {
    name: "kill",
    summary: "send a signal (default SIGTERM) to a container's process",
    synopsis: `${ID} [signal]`,
    argsNoun: "the container id and an optional signal",
    min: 1,
    max: 2,
    // Whatever follows the id is the signal, never a flag of kill's.
    stopAfterFirst: true,
    flags: [bool("all", "signal every process in the container (obsolete)", { short: "a" })],
  },
  idOnly("delete", "delete a container and what it holds", [
    bool("force", "kill the container first if it is still running", { short: "f" }),
  ]),
  {
    name: "run",
    summary: "create and start a container, from a bundle or (--image) from an image",
    synopsis: `${ID}  |  --image REF [flags] [${ID}] [-- command [args...]]`,
    argsNoun: theId,
    min: 0,
    max: Infinity,
    // With --image whatever follows the id is the command, its flags included.
    stopAfterFirstWith: "image",
    flags: [
      bundle,
      consoleSocket,
      pidfdSocket,
      bool("detach", "do not wait for the container's process", { short: "d" }),
      bool("keep", "keep the container after its process exits"),
      pidFile,
      bool("no-subreaper", "do not reap orphaned processes"),
      noPivot,
      noNewKeyring,
      preserveFds,
      ...IMAGE_RUN_FLAGS,
    ],
  },
  {
    name: "list",
    summary: "list containers",
    synopsis: "",
    argsNoun: "none",
    min: 0,
    max: 0,
    flags: [format, bool("quiet", "print only the container ids", { short: "q" })],
  },
  {
    name: "spec",
    summary: "write a default config.json",
    synopsis: "",
    argsNoun: "none",
    min: 0,
    max: 0,
    flags: [bundle, bool("rootless", "write a spec for a rootless container")],
  },
  { name: "features", summary: "print what bunc supports as JSON", synopsis: "", argsNoun: "none", min: 0, max: 0, flags: [] },
  {
    name: "doctor",
    summary: "check this host for what bunc needs, rootless or not, and say how to fix what is missing",
    synopsis: "",
    argsNoun: "none",
    min: 0,
    max: 0,
    flags: [format],
  },
  {
    name: "ps",
    summary: "list the processes in a container",
    synopsis: `${ID} [ps options...]`,
    argsNoun: theId,
    min: 1,
    max: Infinity,
    stopAfterFirst: true,
    flags: [format],
  },
  idOnly("pause", "freeze every process in a container"),
  idOnly("resume", "thaw a paused container"),
  idOnly("events", "print a container's events and statistics", [
    bool("stats", "print statistics once and exit"),
    str("interval", "DURATION", "how often to collect statistics", { default: "5s" }),
  ]),
  idOnly("update", "change a container's resource limits", updateFlags),
  {
    name: "exec",
    summary: "run a new process in a container",
    synopsis: `${ID} <command> [args...]  |  -p process.json ${ID}`,
    argsNoun: theId,
    min: 1,
    max: Infinity,
    // The command's own flags (exec ID ls -la) belong to it, not to bunc.
    stopAfterFirst: true,
    flags: [
      str("process", "FILE", "JSON file describing the process", { short: "p" }),
      bool("tty", "allocate a terminal", { short: "t" }),
      consoleSocket,
      pidfdSocket,
      bool("detach", "do not wait for the process", { short: "d" }),
      pidFile,
      str("cwd", "DIR", "working directory in the container"),
      list("env", "KEY=VALUE", "set an environment variable (repeatable)", { short: "e" }),
      str("user", "UID[:GID]", "user and group to run as", { short: "u" }),
      list("additional-gids", "GID", "add a supplementary group (repeatable)", { short: "g" }),
      list("cap", "CAP", "add a capability (repeatable)", { short: "c" }),
      bool("no-new-privs", "set no_new_privs for the process"),
      str("apparmor", "PROFILE", "AppArmor profile for the process"),
      str("process-label", "LABEL", "SELinux label for the process"),
      preserveFds,
      list("cgroup", "[CONTROLLER:]PATH", "run in an existing sub-cgroup (repeatable)"),
      bool("ignore-paused", "allow exec into a paused container"),
    ],
  },
  ...imageCommands,
  {
    name: "recvtty",
    summary: "receive terminals sent to a console socket (for people and tests)",
    synopsis: "<socket-path>",
    argsNoun: "the socket path",
    min: 1,
    max: 1,
    flags: [
      str("mode", "MODE", "single: attach the first terminal to this one; null: take any number and drop their output", {
        short: "m",
        default: "single",
        choices: ["single", "null"],
      }),
      pidFile,
      bool("no-stdin", "do not pass standard input on to the terminal"),
    ],
  },
  {
    name: "help",
    summary: "show help for bunc or a command",
    synopsis: "[command]",
    argsNoun: "an optional command name",
    min: 0,
    max: 1,
    flags: [],
  },
];

export const COMMANDS: ReadonlyMap<string, CommandSpec> = new Map(commandList.map((c) => [c.name, c]));

export function commandSpec(name: string): CommandSpec {
  const spec = COMMANDS.get(name);
  if (!spec) throw new BuncError("usage", `unknown command ${JSON.stringify(name)}`);
  return spec;
}

function flagLines(flags: readonly FlagSpec[]): string[] {
  const left = flags.map((f) => {
    const names = [f.short ? `-${f.short}` : "", `--${f.name}`, ...(f.aliases ?? []).map((a) => `--${a}`)];
    const label = names.filter(Boolean).join(", ");
    return f.kind === "bool" ? label : `${label} ${f.value ?? "VALUE"}`;
  });
  const width = Math.max(...left.map((l) => l.length));
  return flags.map((f, i) => {
    const dflt = f.default !== undefined ? ` (default: ${f.default})` : "";
    return `  ${left[i]!.padEnd(width)}  ${f.help}${dflt}`;
  });
}

/** Short help: the overview without a command, that command's usage and flags with one. */
export function usageText(command?: string): string {
  if (command === undefined) {
    const width = Math.max(...commandList.map((c) => c.name.length));
    return [
      "usage: bunc [global options] <command> [command options] [arguments...]",
      "",
      "bunc runs OCI containers from bundles and keeps OCI images in a store.",
      "",
      "commands:",
      ...commandList.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
      "",
      "global options:",
      ...flagLines(GLOBAL_FLAGS),
      "",
      'Run "bunc help <command>" for a command\'s options.',
      "",
    ].join("\n");
  }
  const spec = commandSpec(command);
  const flags = [...spec.flags, HELP_FLAG];
  const synopsis = ["usage: bunc", spec.name, "[options]", spec.synopsis].filter(Boolean).join(" ");
  return [synopsis, "", spec.summary, "", "options:", ...flagLines(flags), ""].join("\n");
}
