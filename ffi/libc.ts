import { dlopen, linkSymbols, read, type Pointer } from "bun:ffi";
import { SYS } from "./syscall-numbers.ts";
import { encodeText } from "./text.ts";

// The libc symbols bunc binds, in groups bound on first use: bun:ffi compiles a trampoline
// per symbol (~20 µs each), and `start` or `kill` need only the first group.
const groups = {
  // What nearly every command needs: fds, stat, unlink, poll, kill (`state`, `start` and
  // `delete` bind nothing else).
  core: {
    __errno_location: { args: [], returns: "ptr" },
    openat: { args: ["i32", "ptr", "i32", "u32"], returns: "i32" },
    close: { args: ["i32"], returns: "i32" },
    read: { args: ["i32", "ptr", "u64"], returns: "i64" },
    write: { args: ["i32", "ptr", "u64"], returns: "i64" },
    statx: { args: ["i32", "ptr", "i32", "u32", "ptr"], returns: "i32" },
    unlinkat: { args: ["i32", "ptr", "i32"], returns: "i32" },
    poll: { args: ["ptr", "u64", "i32"], returns: "i32" },
    kill: { args: ["i32", "i32"], returns: "i32" },
  },
  // Namespaces, process attributes, raw syscalls.
  process: {
    syscall: { args: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"], returns: "i64" },
    dlsym: { args: ["ptr", "ptr"], returns: "ptr" },
    unshare: { args: ["i32"], returns: "i32" },
    setns: { args: ["i32", "i32"], returns: "i32" },
    socketpair: { args: ["i32", "i32", "i32", "ptr"], returns: "i32" },
    mkfifo: { args: ["ptr", "u32"], returns: "i32" },
    fcntl: { args: ["i32", "i32", "i32"], returns: "i32" },
    flock: { args: ["i32", "i32"], returns: "i32" },
    umask: { args: ["u32"], returns: "u32" },
    prctl: { args: ["i32", "u64", "u64", "u64", "u64"], returns: "i32" },
    setsid: { args: [], returns: "i32" },
    ioctl: { args: ["i32", "u64", "u64"], returns: "i32" },
    dup2: { args: ["i32", "i32"], returns: "i32" },
    fstatfs: { args: ["i32", "ptr"], returns: "i32" },
    getpid: { args: [], returns: "i32" },
    getuid: { args: [], returns: "u32" },
    geteuid: { args: [], returns: "u32" },
    getgid: { args: [], returns: "u32" },
    _exit: { args: ["i32"], returns: "void" },
  },
  // The *at calls of the rootfs setup and the layer unpacker.
  files: {
    readlinkat: { args: ["i32", "ptr", "ptr", "u64"], returns: "i64" },
    renameat: { args: ["i32", "ptr", "i32", "ptr"], returns: "i32" },
    mkdirat: { args: ["i32", "ptr", "u32"], returns: "i32" },
    mknodat: { args: ["i32", "ptr", "u32", "u64"], returns: "i32" },
    symlinkat: { args: ["ptr", "i32", "ptr"], returns: "i32" },
    fchownat: { args: ["i32", "ptr", "u32", "u32", "i32"], returns: "i32" },
    fchmod: { args: ["i32", "u32"], returns: "i32" },
    fchmodat: { args: ["i32", "ptr", "u32", "i32"], returns: "i32" },
    fchown: { args: ["i32", "u32", "u32"], returns: "i32" },
    linkat: { args: ["i32", "ptr", "i32", "ptr", "i32"], returns: "i32" },
    utimensat: { args: ["i32", "ptr", "ptr", "i32"], returns: "i32" },
    futimens: { args: ["i32", "ptr"], returns: "i32" },
    fsetxattr: { args: ["i32", "ptr", "ptr", "u64", "i32"], returns: "i32" },
    lsetxattr: { args: ["ptr", "ptr", "ptr", "u64", "i32"], returns: "i32" },
    lgetxattr: { args: ["ptr", "ptr", "ptr", "u64"], returns: "i64" },
    chdir: { args: ["ptr"], returns: "i32" },
    fchdir: { args: ["i32"], returns: "i32" },
    chroot: { args: ["ptr"], returns: "i32" },
  },
  // What only the stages need: mounts, identity, signals and exec.
  container: {
    mount: { args: ["ptr", "ptr", "ptr", "u64", "ptr"], returns: "i32" },
    umount2: { args: ["ptr", "i32"], returns: "i32" },
    sethostname: { args: ["ptr", "u64"], returns: "i32" },
    setdomainname: { args: ["ptr", "u64"], returns: "i32" },
    setresuid: { args: ["u32", "u32", "u32"], returns: "i32" },
    setresgid: { args: ["u32", "u32", "u32"], returns: "i32" },
    setgroups: { args: ["u64", "ptr"], returns: "i32" },
    prlimit: { args: ["i32", "i32", "ptr", "ptr"], returns: "i32" },
    execve: { args: ["ptr", "ptr", "ptr"], returns: "i32" },
    signal: { args: ["i32", "ptr"], returns: "ptr" },
    sigprocmask: { args: ["i32", "ptr", "ptr"], returns: "i32" },
  },
  // Unix sockets with fds, and terminals.
  sockets: {
    socket: { args: ["i32", "i32", "i32"], returns: "i32" },
    connect: { args: ["i32", "ptr", "u32"], returns: "i32" },
    sendmsg: { args: ["i32", "ptr", "i32"], returns: "i64" },
    recvmsg: { args: ["i32", "ptr", "i32"], returns: "i64" },
    isatty: { args: ["i32"], returns: "i32" },
    tcgetattr: { args: ["i32", "ptr"], returns: "i32" },
    tcsetattr: { args: ["i32", "i32", "ptr"], returns: "i32" },
    cfmakeraw: { args: ["ptr"], returns: "void" },
  },
  // POSIX AIO: a write done by a glibc thread while the caller goes on.
  aio: {
    aio_write: { args: ["ptr"], returns: "i32" },
    aio_error: { args: ["ptr"], returns: "i32" },
    aio_return: { args: ["ptr"], returns: "i64" },
  },
} as const;

type Groups = typeof groups;
type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;
type Libc = UnionToIntersection<{ [G in keyof Groups]: ReturnType<typeof dlopen<Groups[G]>>["symbols"] }[keyof Groups]>;

// syscall(2) bound again with exact argument types for the hot calls glibc has no wrapper
// for: no BigInt conversion per call. Resolved through dlsym.
interface Typed {
  sys_openat2(dirfd: number, path: Uint8Array, how: BigUint64Array, size: number): number;
}
let libc: (Libc & Typed) | undefined;

/** The table: each group is opened the first time one of its symbols is used. */
export function lib(): Libc & Typed {
  if (libc) return libc;
  const lazy = {} as Record<string, unknown>;
  for (const group of Object.keys(groups) as (keyof Groups)[]) {
    const bind = () => {
      const symbols = dlopen("libc.so.6", groups[group]).symbols as Record<string, unknown>;
      for (const name of Object.keys(groups[group])) Object.defineProperty(lazy, name, { value: symbols[name], enumerable: true });
    };
    for (const name of Object.keys(groups[group])) {
      Object.defineProperty(lazy, name, {
        configurable: true,
        get() {
          bind();
          return lazy[name];
        },
      });
    }
  }
  Object.defineProperty(lazy, "sys_openat2", {
    configurable: true,
    get() {
      const address = (lazy as unknown as Libc).dlsym(null, cstr("syscall"))!;
      const linked = linkSymbols({ openat2: { args: ["i64", "i32", "ptr", "ptr", "u64"], returns: "i32", ptr: address } }).symbols;
      const fn: Typed["sys_openat2"] = (dirfd, path, how, size) => linked.openat2(SYS.openat2, dirfd, path, how, size);
      Object.defineProperty(lazy, "sys_openat2", { value: fn });
      return fn;
    },
  });
  libc = lazy as unknown as Libc & Typed;
  return libc;
}

let errnoPtr: Pointer | null = null;
/** errno of the last failed call; read it right after the call. */
export function errno(): number {
  errnoPtr ??= lib().__errno_location() as Pointer | null;
  return read.i32(errnoPtr!, 0);
}

/** A NUL-terminated C string that lives as long as the returned buffer is referenced. */
export const cstr = (s: string): Uint8Array => encodeText(`${s}\0`);
