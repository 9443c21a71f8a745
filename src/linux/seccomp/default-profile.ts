// The seccomp profile `bunc spec` writes: deny (EPERM) by default, allow what ordinary
// programs use, and allow the syscalls that need a capability only when the container has
// that capability — the same effect as the default profiles of docker and podman.
// Kernel keyrings, io_uring, module loading, mounts, namespaces, BPF, perf, swap, reboot,
// clock setting and the like stay denied.
import type { LinuxSeccomp } from "../../spec/runtime-config.ts";
import type { SeccompArch } from "./tables/index.ts";

type Syscalls = NonNullable<LinuxSeccomp["syscalls"]>;

const EPERM = 1;
const ENOSYS = 38;

// clone(2) flags that create namespaces: CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER,
// NEWPID, NEWNET. Without CAP_SYS_ADMIN, clone is allowed only with none of them set.
const CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;

// Address families socket(2) refuses: AF_ALG (38, kernel crypto) and AF_VSOCK (40), both
// frequent sources of kernel bugs. 39 (AF_NFC) sits between them and stays allowed.
const AF_ALG = 38;
const AF_VSOCK = 40;

/** Allowed to every container, grouped by what they are for. */
const ALLOWED: Record<string, readonly string[]> = {
  files: [
    "access", "faccessat", "faccessat2", "chdir", "fchdir", "getcwd", "umask",
    "open", "openat", "openat2", "creat", "close", "close_range", "name_to_handle_at",
    "read", "readv", "pread64", "preadv", "preadv2", "write", "writev", "pwrite64", "pwritev", "pwritev2",
    "lseek", "_llseek", "readahead", "sendfile", "sendfile64", "splice", "tee", "vmsplice", "copy_file_range",
    "dup", "dup2", "dup3", "fcntl", "fcntl64", "flock", "ioctl",
    "stat", "stat64", "lstat", "lstat64", "fstat", "fstat64", "fstatat64", "newfstatat", "statx",
    "statfs", "statfs64", "fstatfs", "fstatfs64",
    "chmod", "fchmod", "fchmodat", "fchmodat2",
    "chown", "chown32", "fchown", "fchown32", "fchownat", "lchown", "lchown32",
    "truncate", "truncate64", "ftruncate", "ftruncate64", "fallocate", "fadvise64", "fadvise64_64",
    "fsync", "fdatasync", "sync", "syncfs", "sync_file_range",
    "mkdir", "mkdirat", "rmdir", "mknod", "mknodat", "link", "linkat", "symlink", "symlinkat",
    "unlink", "unlinkat", "rename", "renameat", "renameat2", "readlink", "readlinkat",
    "getdents", "getdents64", "utime", "utimes", "utimensat", "utimensat_time64", "futimesat",
    "listmount", "statmount",
  ],
  xattrs: [
    "getxattr", "lgetxattr", "fgetxattr", "getxattrat",
    "setxattr", "lsetxattr", "fsetxattr", "setxattrat",
    "listxattr", "llistxattr", "flistxattr", "listxattrat",
    "removexattr", "lremovexattr", "fremovexattr", "removexattrat",
  ],
  waiting: [
    "pipe", "pipe2", "poll", "ppoll", "ppoll_time64", "select", "_newselect", "pselect6", "pselect6_time64",
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_wait", "epoll_wait_old",
    "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2", "signalfd", "signalfd4",
    "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64",
    "inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch", "fanotify_mark",
    "io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
    "ioprio_get", "ioprio_set",
  ],
  memory: [
    "brk", "mmap", "mmap2", "munmap", "mremap", "mprotect", "madvise", "mincore", "msync", "remap_file_pages",
    "mlock", "mlock2", "mlockall", "munlock", "munlockall", "mseal", "map_shadow_stack",
    "memfd_create", "memfd_secret", "membarrier", "pkey_alloc", "pkey_free", "pkey_mprotect",
    "cachestat", "process_mrelease",
  ],
  processes: [
    "fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4", "waitid", "waitpid",
    "getpid", "getppid", "gettid", "getpgid", "setpgid", "getpgrp", "getsid", "setsid",
    "set_tid_address", "get_robust_list", "set_robust_list", "rseq", "restart_syscall",
    "futex", "futex_time64", "futex_wait", "futex_wake", "futex_requeue", "futex_waitv",
    "get_thread_area", "set_thread_area", "prctl", "seccomp", "capget", "capset",
    "pidfd_open", "pidfd_send_signal", "uname", "sysinfo", "getcpu", "getrandom", "uretprobe", "riscv_hwprobe",
    "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
  ],
  // ptrace and reading other processes' memory: safe with seccomp since Linux 4.8, which
  // re-checks the filter after a tracer changes a syscall.
  tracing: ["ptrace", "process_vm_readv", "process_vm_writev"],
  credentials: [
    "getuid", "getuid32", "geteuid", "geteuid32", "getgid", "getgid32", "getegid", "getegid32",
    "getresuid", "getresuid32", "getresgid", "getresgid32", "getgroups", "getgroups32",
    "setuid", "setuid32", "setgid", "setgid32", "setreuid", "setreuid32", "setregid", "setregid32",
    "setresuid", "setresuid32", "setresgid", "setresgid32", "setfsuid", "setfsuid32", "setfsgid", "setfsgid32",
    "setgroups", "setgroups32",
  ],
  scheduling: [
    "getpriority", "setpriority", "getrlimit", "ugetrlimit", "setrlimit", "prlimit64", "getrusage", "times",
    "sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getattr", "sched_setattr",
    "sched_getparam", "sched_setparam", "sched_getscheduler", "sched_setscheduler",
    "sched_get_priority_max", "sched_get_priority_min", "sched_rr_get_interval", "sched_rr_get_interval_time64",
  ],
  time: [
    "time", "gettimeofday", "clock_gettime", "clock_gettime64", "clock_getres", "clock_getres_time64",
    "clock_nanosleep", "clock_nanosleep_time64", "nanosleep", "pause", "alarm", "getitimer", "setitimer",
    "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64",
    "timer_settime", "timer_settime64",
    // Reading the clock's tuning is harmless; changing it needs CAP_SYS_TIME, checked by the kernel.
    "adjtimex", "clock_adjtime", "clock_adjtime64",
  ],
  signals: [
    "kill", "tkill", "tgkill", "rt_sigaction", "rt_sigprocmask", "rt_sigpending", "rt_sigsuspend",
    "rt_sigreturn", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "rt_sigtimedwait", "rt_sigtimedwait_time64",
    "sigaltstack", "sigprocmask", "sigreturn",
  ],
  // socket(2) itself is below: some families are refused.
  sockets: [
    "socketpair", "socketcall", "bind", "connect", "listen", "accept", "accept4", "shutdown",
    "getsockname", "getpeername", "getsockopt", "setsockopt",
    "send", "sendto", "sendmsg", "sendmmsg", "recv", "recvfrom", "recvmsg", "recvmmsg", "recvmmsg_time64",
  ],
  ipc: [
    "ipc", "msgget", "msgctl", "msgsnd", "msgrcv", "semget", "semctl", "semop", "semtimedop", "semtimedop_time64",
    "shmget", "shmctl", "shmat", "shmdt",
    "mq_open", "mq_unlink", "mq_notify", "mq_getsetattr",
    "mq_timedsend", "mq_timedsend_time64", "mq_timedreceive", "mq_timedreceive_time64",
  ],
};

const ARM = ["arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"];
const S390 = ["s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"];

/** Extra syscalls an arch family needs, keyed by the native arch. */
const ARCH_EXTRAS: Partial<Record<string, readonly string[]>> = {
  SCMP_ARCH_X86_64: ["arch_prctl", "modify_ldt"],
  SCMP_ARCH_X32: ["arch_prctl", "modify_ldt"],
  SCMP_ARCH_X86: ["modify_ldt"],
  SCMP_ARCH_AARCH64: ARM,
  SCMP_ARCH_ARM: ARM,
  SCMP_ARCH_PPC64LE: ["sync_file_range2", "swapcontext"],
  SCMP_ARCH_S390X: S390,
  SCMP_ARCH_S390: S390,
  SCMP_ARCH_RISCV64: ["riscv_flush_icache"],
};

/** The ABIs a kernel of the native arch also runs: the filter must cover them all. */
const ARCH_FAMILIES: Partial<Record<string, readonly string[]>> = {
  SCMP_ARCH_X86_64: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  SCMP_ARCH_AARCH64: ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
  SCMP_ARCH_MIPS64: ["SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"],
  SCMP_ARCH_MIPS64N32: ["SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64"],
  SCMP_ARCH_MIPSEL64: ["SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"],
  SCMP_ARCH_MIPSEL64N32: ["SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64"],
  SCMP_ARCH_S390X: ["SCMP_ARCH_S390X", "SCMP_ARCH_S390"],
};

/** Syscalls a capability makes useful; the kernel still checks the capability itself. */
const BY_CAPABILITY: Record<string, readonly string[]> = {
  CAP_SYS_ADMIN: [
    "mount", "umount", "umount2", "mount_setattr", "move_mount", "open_tree",
    "fsopen", "fsconfig", "fsmount", "fspick", "unshare", "setns", "clone", "clone3",
    "sethostname", "setdomainname", "quotactl", "quotactl_fd", "fanotify_init", "lookup_dcookie",
    "bpf", "perf_event_open", "syslog", "lsm_get_self_attr", "lsm_set_self_attr", "lsm_list_modules",
  ],
  CAP_DAC_READ_SEARCH: ["open_by_handle_at"],
  CAP_SYS_BOOT: ["reboot"],
  CAP_SYS_CHROOT: ["chroot"],
  CAP_SYS_MODULE: ["init_module", "finit_module", "delete_module"],
  CAP_SYS_PACCT: ["acct"],
  CAP_SYS_PTRACE: ["ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "pidfd_getfd", "kcmp"],
  CAP_SYS_RAWIO: ["iopl", "ioperm"],
  CAP_SYS_TIME: ["settimeofday", "stime", "clock_settime", "clock_settime64"],
  CAP_SYS_TTY_CONFIG: ["vhangup"],
  CAP_SYS_NICE: ["get_mempolicy", "set_mempolicy", "set_mempolicy_home_node", "mbind"],
  CAP_SYSLOG: ["syslog"],
  CAP_BPF: ["bpf"],
  CAP_PERFMON: ["perf_event_open"],
};

/** The capabilities that widen the profile. */
export const PROFILE_CAPABILITIES = Object.keys(BY_CAPABILITY);

/**
 * The default profile for containers on a kernel of `arch`, allowing what `capabilities`
 * (the container's bounding set; names with the CAP_ prefix) make useful.
 */
export function defaultSeccompProfile(arch: SeccompArch, capabilities: readonly string[] = []): LinuxSeccomp {
  const caps = new Set(capabilities);
  const allow = (names: readonly string[]) => ({ names: [...names], action: "SCMP_ACT_ALLOW" });
  const s390 = arch === "SCMP_ARCH_S390" || arch === "SCMP_ARCH_S390X";

  const syscalls: Syscalls = [allow(Object.values(ALLOWED).flat())];
  const extras = ARCH_EXTRAS[arch];
  if (extras) syscalls.push(allow(extras));

  // socket(2) for every family but AF_ALG and AF_VSOCK (32-bit x86 reaches socket through
  // socketcall, which cannot be filtered by argument: the same gap as docker's profile).
  const family = (op: string, value: number) => ({ ...allow(["socket"]), args: [{ index: 0, value, op }] });
  syscalls.push(family("SCMP_CMP_LT", AF_ALG), family("SCMP_CMP_EQ", AF_ALG + 1), family("SCMP_CMP_GT", AF_VSOCK));

  // personality(2) only for the harmless personas: Linux, UNAME26, ADDR_NO_RANDOMIZE and
  // both, and 0xffffffff, which queries without changing anything.
  for (const persona of [0x0, 0x0008, 0x20000, 0x20008, 0xffffffff])
    syscalls.push({ ...allow(["personality"]), args: [{ index: 0, value: persona, op: "SCMP_CMP_EQ" }] });

  if (!caps.has("CAP_SYS_ADMIN")) {
    // Threads and plain forks yes, new namespaces no. s390 swaps clone's first two arguments.
    syscalls.push({
      ...allow(["clone"]),
      args: [{ index: s390 ? 1 : 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
    });
    // clone3 passes its flags in memory, out of a filter's reach: make libc fall back to clone.
    syscalls.push({ names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS });
  }

  for (const [cap, names] of Object.entries(BY_CAPABILITY)) if (caps.has(cap)) syscalls.push(allow(names));

  return {
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: EPERM,
    architectures: [...(ARCH_FAMILIES[arch] ?? [arch])],
    syscalls,
  };
}
