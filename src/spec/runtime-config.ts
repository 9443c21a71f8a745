// Schemas for the runtime-spec config.json (config.md and config-linux.md, v1.0 to v1.3).
// Field names are the JSON names of the spec. Every object is loose: the spec says unknown
// properties MUST be ignored, so newer or vendor fields pass through untouched.
// Shape and ranges live here; rules that need more than one field live in validate-config.ts.
import * as v from "valibot";

// --- numbers -------------------------------------------------------------------------------

const int = (min: number, max: number) => v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));

// uid, gid, hostID, size…: the full uint32 range and nothing past it. A value of 2^32 must
// not wrap to 0 (root), nor 2^31 turn negative in an int32 (CVE-2024-40635).
const Uint32 = int(0, 2 ** 32 - 1);
const Uint16 = int(0, 2 ** 16 - 1);
const Int32 = int(-(2 ** 31), 2 ** 31 - 1);
// JSON numbers are doubles: past 2^53 they are rounded, and the largest uint64,
// 18446744073709551615, reads as exactly 2^64. So the upper bounds are the rounded ones;
// rlimitValue() maps that 2^64 back to RLIM_INFINITY.
const Uint64 = int(0, 2 ** 64);
const Int64 = int(-(2 ** 63), 2 ** 63);

const Strings = v.array(v.string());
// The same check as one loop: a seccomp profile lists ~400 syscall names, and checking each
// through its own schema costs a cold `create` milliseconds.
const StringList = v.custom<string[]>((x) => Array.isArray(x) && x.every((s) => typeof s === "string"), "must be a list of strings");
const StringMap = v.record(v.string(), v.string());

// --- enumerations --------------------------------------------------------------------------

export const NAMESPACE_TYPES = ["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"] as const;
export type NamespaceType = (typeof NAMESPACE_TYPES)[number];

// The spec's schema lists only the four plain modes; runc also takes the recursive ones and "".
export const ROOTFS_PROPAGATIONS = [
  "",
  "shared",
  "slave",
  "private",
  "unbindable",
  "rshared",
  "rslave",
  "rprivate",
  "runbindable",
] as const;

export const HOOK_NAMES = [
  "prestart",
  "createRuntime",
  "createContainer",
  "startContainer",
  "poststart",
  "poststop",
] as const;
export type HookName = (typeof HOOK_NAMES)[number];

/** Resource names getrlimit(2) knows on Linux. */
export const RLIMIT_TYPES = [
  "RLIMIT_CPU",
  "RLIMIT_FSIZE",
  "RLIMIT_DATA",
  "RLIMIT_STACK",
  "RLIMIT_CORE",
  "RLIMIT_RSS",
  "RLIMIT_NPROC",
  "RLIMIT_NOFILE",
  "RLIMIT_MEMLOCK",
  "RLIMIT_AS",
  "RLIMIT_LOCKS",
  "RLIMIT_SIGPENDING",
  "RLIMIT_MSGQUEUE",
  "RLIMIT_NICE",
  "RLIMIT_RTPRIO",
  "RLIMIT_RTTIME",
] as const;

export { RLIM_INFINITY, rlimitValue } from "./rlimit-value.ts";

// --- shared pieces -------------------------------------------------------------------------

export const IDMappingSchema = v.looseObject({
  containerID: Uint32,
  hostID: Uint32,
  size: Uint32,
});

export const HookSchema = v.looseObject({
  path: v.string(),
  args: v.optional(Strings),
  env: v.optional(Strings),
  timeout: v.optional(int(1, 2 ** 31 - 1)),
});

export const HooksSchema = v.looseObject({
  prestart: v.optional(v.array(HookSchema)),
  createRuntime: v.optional(v.array(HookSchema)),
  createContainer: v.optional(v.array(HookSchema)),
  startContainer: v.optional(v.array(HookSchema)),
  poststart: v.optional(v.array(HookSchema)),
  poststop: v.optional(v.array(HookSchema)),
});

export const RootSchema = v.looseObject({
  path: v.string(),
  readonly: v.optional(v.boolean()),
});

export const MountSchema = v.looseObject({
  destination: v.string(),
  type: v.optional(v.string()),
  source: v.optional(v.string()),
  options: v.optional(Strings),
  // idmapped mounts (v1.2)
  uidMappings: v.optional(v.array(IDMappingSchema)),
  gidMappings: v.optional(v.array(IDMappingSchema)),
});

// --- process -------------------------------------------------------------------------------

export const RlimitSchema = v.looseObject({
  type: v.string(),
  soft: Uint64,
  hard: Uint64,
});

export const LinuxCapabilitiesSchema = v.looseObject({
  bounding: v.optional(Strings),
  effective: v.optional(Strings),
  inheritable: v.optional(Strings),
  permitted: v.optional(Strings),
  ambient: v.optional(Strings),
});

export const UserSchema = v.looseObject({
  // REQUIRED by the spec; runc reads a missing one as 0, and so do we.
  uid: v.optional(Uint32, 0),
  gid: v.optional(Uint32, 0),
  umask: v.optional(Uint32),
  additionalGids: v.optional(v.array(Uint32)),
  username: v.optional(v.string()),
});

const IoPrioritySchema = v.looseObject({
  class: v.picklist(["IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"]),
  priority: v.optional(Int32),
});

const SchedulerSchema = v.looseObject({
  policy: v.picklist([
    "SCHED_OTHER",
    "SCHED_FIFO",
    "SCHED_RR",
    "SCHED_BATCH",
    "SCHED_ISO",
    "SCHED_IDLE",
    "SCHED_DEADLINE",
  ]),
  nice: v.optional(Int32),
  priority: v.optional(Int32),
  flags: v.optional(
    v.array(
      v.picklist([
        "SCHED_FLAG_RESET_ON_FORK",
        "SCHED_FLAG_RECLAIM",
        "SCHED_FLAG_DL_OVERRUN",
        "SCHED_FLAG_KEEP_POLICY",
        "SCHED_FLAG_KEEP_PARAMS",
        "SCHED_FLAG_UTIL_CLAMP_MIN",
        "SCHED_FLAG_UTIL_CLAMP_MAX",
      ]),
    ),
  ),
  runtime: v.optional(Uint64),
  deadline: v.optional(Uint64),
  period: v.optional(Uint64),
});

const CpuList = v.pipe(v.string(), v.regex(/^[0-9, -]*$/, "must be a CPU list such as 0-3,7"));

export const ProcessSchema = v.looseObject({
  terminal: v.optional(v.boolean()),
  consoleSize: v.optional(v.looseObject({ height: Uint64, width: Uint64 })),
  cwd: v.string(),
  env: v.optional(Strings),
  // OPTIONAL in the spec for Windows' commandLine; on Linux nothing can start without it.
  args: Strings,
  commandLine: v.optional(v.string()),
  rlimits: v.optional(v.array(RlimitSchema)),
  apparmorProfile: v.optional(v.string()),
  capabilities: v.optional(LinuxCapabilitiesSchema),
  noNewPrivileges: v.optional(v.boolean()),
  // the range /proc/<pid>/oom_score_adj takes
  oomScoreAdj: v.optional(int(-1000, 1000)),
  selinuxLabel: v.optional(v.string()),
  user: v.optional(UserSchema),
  ioPriority: v.optional(IoPrioritySchema),
  scheduler: v.optional(SchedulerSchema),
  execCPUAffinity: v.optional(v.looseObject({ initial: v.optional(CpuList), final: v.optional(CpuList) })),
});

// --- linux ---------------------------------------------------------------------------------

export const LinuxNamespaceSchema = v.looseObject({
  type: v.picklist(NAMESPACE_TYPES),
  path: v.optional(v.string()),
});

export const LinuxDeviceSchema = v.looseObject({
  type: v.picklist(["c", "b", "u", "p"]),
  path: v.string(),
  major: v.optional(Int64),
  minor: v.optional(Int64),
  // Only the permission bits are used. containerd may pass setuid/setgid/sticky along, and
  // podman (--privileged, --device) the host node's whole st_mode, file type bits included.
  fileMode: v.optional(int(0, 0o177777)),
  uid: v.optional(Uint32),
  gid: v.optional(Uint32),
});

const TimeOffsetSchema = v.looseObject({ secs: v.optional(Int64), nanosecs: v.optional(Uint32) });

const DeviceRule = v.looseObject({
  allow: v.boolean(),
  type: v.optional(v.string()),
  major: v.optional(Int64),
  minor: v.optional(Int64),
  access: v.optional(v.string()),
});

const BlockIODevice = { major: Int64, minor: Int64 };
const Throttle = v.array(v.looseObject({ ...BlockIODevice, rate: v.optional(Uint64) }));

// Permissive on purpose: the cgroup code checks what it applies. Only plain fields are typed.
export const LinuxResourcesSchema = v.looseObject({
  devices: v.optional(v.array(DeviceRule)),
  memory: v.optional(
    v.looseObject({
      limit: v.optional(Int64),
      reservation: v.optional(Int64),
      swap: v.optional(Int64),
      kernel: v.optional(Int64),
      kernelTCP: v.optional(Int64),
      swappiness: v.optional(Uint64),
      disableOOMKiller: v.optional(v.boolean()),
      useHierarchy: v.optional(v.boolean()),
      checkBeforeUpdate: v.optional(v.boolean()),
    }),
  ),
  cpu: v.optional(
    v.looseObject({
      shares: v.optional(Uint64),
      quota: v.optional(Int64),
      burst: v.optional(Uint64),
      period: v.optional(Uint64),
      realtimeRuntime: v.optional(Int64),
      realtimePeriod: v.optional(Uint64),
      cpus: v.optional(v.string()),
      mems: v.optional(v.string()),
      idle: v.optional(Int64),
    }),
  ),
  pids: v.optional(v.looseObject({ limit: Int64 })),
  blockIO: v.optional(
    v.looseObject({
      weight: v.optional(Uint16),
      leafWeight: v.optional(Uint16),
      weightDevice: v.optional(
        v.array(v.looseObject({ ...BlockIODevice, weight: v.optional(Uint16), leafWeight: v.optional(Uint16) })),
      ),
      throttleReadBpsDevice: v.optional(Throttle),
      throttleWriteBpsDevice: v.optional(Throttle),
      throttleReadIOPSDevice: v.optional(Throttle),
      throttleWriteIOPSDevice: v.optional(Throttle),
    }),
  ),
  hugepageLimits: v.optional(v.array(v.looseObject({ pageSize: v.string(), limit: Uint64 }))),
  network: v.optional(
    v.looseObject({
      classID: v.optional(Uint32),
      priorities: v.optional(v.array(v.looseObject({ name: v.string(), priority: Uint32 }))),
    }),
  ),
  rdma: v.optional(
    v.record(v.string(), v.looseObject({ hcaHandles: v.optional(Uint32), hcaObjects: v.optional(Uint32) })),
  ),
  unified: v.optional(StringMap),
});

// Loose too: actions, architectures and operators are checked by the seccomp compiler,
// which knows what it can build.
export const LinuxSeccompSchema = v.looseObject({
  defaultAction: v.string(),
  defaultErrnoRet: v.optional(Uint32),
  flags: v.optional(Strings),
  listenerPath: v.optional(v.string()),
  listenerMetadata: v.optional(v.string()),
  architectures: v.optional(Strings),
  syscalls: v.optional(
    v.array(
      v.looseObject({
        names: StringList,
        action: v.string(),
        errnoRet: v.optional(Uint32),
        args: v.optional(
          v.array(
            v.looseObject({
              index: Uint32,
              // uint64 masks above 2^53 arrive rounded by JSON.parse
              value: Uint64,
              valueTwo: v.optional(Uint64),
              op: v.string(),
            }),
          ),
        ),
      }),
    ),
  ),
});

export const LinuxSchema = v.looseObject({
  namespaces: v.optional(v.array(LinuxNamespaceSchema)),
  uidMappings: v.optional(v.array(IDMappingSchema)),
  gidMappings: v.optional(v.array(IDMappingSchema)),
  timeOffsets: v.optional(
    v.looseObject({ boottime: v.optional(TimeOffsetSchema), monotonic: v.optional(TimeOffsetSchema) }),
  ),
  devices: v.optional(v.array(LinuxDeviceSchema)),
  cgroupsPath: v.optional(v.string()),
  resources: v.optional(LinuxResourcesSchema),
  rootfsPropagation: v.optional(v.picklist(ROOTFS_PROPAGATIONS)),
  seccomp: v.optional(LinuxSeccompSchema),
  sysctl: v.optional(StringMap),
  maskedPaths: v.optional(Strings),
  readonlyPaths: v.optional(Strings),
  mountLabel: v.optional(v.string()),
  intelRdt: v.optional(
    v.looseObject({
      closID: v.optional(v.string()),
      l3CacheSchema: v.optional(v.string()),
      memBwSchema: v.optional(v.string()),
      schemata: v.optional(Strings),
      enableMonitoring: v.optional(v.boolean()),
    }),
  ),
  personality: v.optional(v.looseObject({ domain: v.picklist(["LINUX", "LINUX32"]), flags: v.optional(Strings) })),
  memoryPolicy: v.optional(
    v.looseObject({
      mode: v.picklist([
        "MPOL_DEFAULT",
        "MPOL_BIND",
        "MPOL_INTERLEAVE",
        "MPOL_WEIGHTED_INTERLEAVE",
        "MPOL_PREFERRED",
        "MPOL_PREFERRED_MANY",
        "MPOL_LOCAL",
      ]),
      nodes: v.optional(v.string()),
      flags: v.optional(v.array(v.picklist(["MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"]))),
    }),
  ),
  // host interface name → settings in the container (v1.3)
  netDevices: v.optional(v.record(v.string(), v.looseObject({ name: v.optional(v.string()) }))),
});

// --- the document --------------------------------------------------------------------------

export const SpecSchema = v.looseObject({
  ociVersion: v.string(),
  // OPTIONAL only for VM-based runtimes; a Linux container has none without it.
  root: RootSchema,
  mounts: v.optional(v.array(MountSchema)),
  process: v.optional(ProcessSchema),
  hostname: v.optional(v.string()),
  domainname: v.optional(v.string()),
  hooks: v.optional(HooksSchema),
  annotations: v.optional(StringMap),
  linux: v.optional(LinuxSchema),
});

export type Spec = v.InferOutput<typeof SpecSchema>;
export type Root = v.InferOutput<typeof RootSchema>;
export type Mount = v.InferOutput<typeof MountSchema>;
export type Process = v.InferOutput<typeof ProcessSchema>;
export type User = v.InferOutput<typeof UserSchema>;
export type Rlimit = v.InferOutput<typeof RlimitSchema>;
export type LinuxCapabilities = v.InferOutput<typeof LinuxCapabilitiesSchema>;
export type Hook = v.InferOutput<typeof HookSchema>;
export type Hooks = v.InferOutput<typeof HooksSchema>;
export type IDMapping = v.InferOutput<typeof IDMappingSchema>;
export type Linux = v.InferOutput<typeof LinuxSchema>;
export type LinuxNamespace = v.InferOutput<typeof LinuxNamespaceSchema>;
export type LinuxDevice = v.InferOutput<typeof LinuxDeviceSchema>;
export type LinuxResources = v.InferOutput<typeof LinuxResourcesSchema>;
export type LinuxSeccomp = v.InferOutput<typeof LinuxSeccompSchema>;
