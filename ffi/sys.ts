// The seam between bunc and the kernel: every effect the stages have goes through `Sys`.
// `linuxSys` calls libc; `RecordingSys` (recording-sys.ts) records the calls for unit tests.
import { ptr } from "bun:ffi";
import { readlinkAt, statFd } from "./files.ts";
import { cstr, errno, lib } from "./libc.ts";
import { encodeText } from "./text.ts";
import { keepAcrossExec } from "./io.ts";
import { ENOENT, ENOSYS, SysError } from "./errors.ts";
import { SYS } from "./syscall-numbers.ts";
import { AT_FDCWD, CLOSE_RANGE_CLOEXEC, O, MOVE_MOUNT_F_EMPTY_PATH, MOVE_MOUNT_T_EMPTY_PATH, NS_GET_NSTYPE, PR, PR_CAP_AMBIENT_CLEAR_ALL, PR_CAP_AMBIENT_RAISE } from "./constants.ts";

export interface CapSets {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
}

export interface Sys {
  unshare(flags: number): void;
  setns(fd: number, nstype: number, what: string): void;
  /** The CLONE_NEW* type of a namespace fd. */
  nsType(fd: number, what: string): number;
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  umount(target: string, flags: number): void;
  pivotRoot(newRoot: string, putOld: string): void;
  chdir(path: string): void;
  fchdir(fd: number, what: string): void;
  chroot(path: string): void;
  sethostname(name: string): void;
  setdomainname(name: string): void;
  openat(dirfd: number, path: string, flags: number, mode?: number): number;
  /** openat2 with a `resolve` mask: the safe way to open anything inside a rootfs. */
  openat2(dirfd: number, path: string, flags: number, mode: number, resolve: number): number;
  /** openat2 that reports failure as -errno instead of throwing: for lookups that often miss. */
  tryOpenat2(dirfd: number, path: string, flags: number, mode: number, resolve: number): number;
  close(fd: number): void;
  write(fd: number, data: string, what: string): void;
  readlinkat(dirfd: number, path: string): string;
  fstat(fd: number): { mode: number; rdev: number; isDirectory: boolean };
  /** f_type of the filesystem `fd` is on (PROC_SUPER_MAGIC, …). */
  fsType(fd: number): number;
  /** Remove `path` if it is there; a missing path is not an error. */
  unlinkIfPresent(dirfd: number, path: string, flags: number): void;
  mkdirat(dirfd: number, path: string, mode: number): void;
  mknodat(dirfd: number, path: string, mode: number, dev: bigint): void;
  symlinkat(target: string, dirfd: number, path: string): void;
  fchownat(dirfd: number, path: string, uid: number, gid: number, flags: number): void;
  fchmod(fd: number, mode: number): void;
  umask(mask: number): number;
  prctl(option: number, arg2?: number, arg3?: number): number;
  setresuid(uid: number): void;
  setresgid(gid: number): void;
  setgroups(gids: number[]): void;
  capset(sets: CapSets): void;
  capBoundingDrop(cap: number): void;
  ambientClearAll(): void;
  ambientRaise(cap: number): void;
  setrlimit(resource: number, soft: bigint, hard: bigint, name: string): void;
  /** Mark every fd from `first` up close-on-exec. */
  closeFromOnExec(first: number): void;
  /** Let fds 3..3+count-1 survive exec (Bun marks fds from 4 up close-on-exec at start). */
  keepAcrossExec(count: number): void;
  /** All signal dispositions to SIG_DFL and an empty mask: what a fresh process expects. */
  resetSignals(): void;
  execve(path: string, argv: string[], envp: string[]): never;
  kill(pid: number, signal: number): void;
  /** Install a seccomp BPF program (8-byte sock_filter entries); returns the listener fd, if asked. */
  seccompSetFilter(flags: number, program: Buffer): number;
  /** A new pty from the ptmx at `ptmxPath`: its master, its peer (slave) and the peer's name. */
  openPty(ptmxPath: string): { master: number; slave: number; name: string };
  setWindowSize(fd: number, rows: number, cols: number): void;
  /** A new session with `tty` as controlling terminal and as fds 0, 1 and 2. */
  takeTerminal(tty: number): void;
  /** setsid(): a session and process group of its own. */
  newSession(): void;
  /** A new session keyring named `name`, so containers do not share the caller's keys. */
  joinSessionKeyring(name: string): void;
  openTree(dirfd: number, path: string, flags: number): number;
  mountSetattr(fd: number, path: string, flags: number, attrSet: bigint, attrClr: bigint): void;
  /** Attach the detached mount `fromFd` (from openTree) onto the object `toFd` refers to. */
  moveMount(fromFd: number, toFd: number, what: string): void;
}

const check = (rc: number | bigint, call: string, path?: string) => {
  if (rc === -1 || rc === -1n) throw new SysError(call, errno(), path);
};

const syscall = (nr: number, ...args: (number | bigint)[]) => {
  const a = args.map((x) => BigInt(x));
  while (a.length < 6) a.push(0n);
  return lib().syscall(BigInt(nr), a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!);
};

const nullable = (s: string | null) => (s === null ? null : cstr(s));

const LINUX_CAPABILITY_VERSION_3 = 0x20080522;


export const linuxSys: Sys = {
  unshare(flags) {
    check(lib().unshare(flags), "unshare", `0x${flags.toString(16)}`);
  },
  setns(fd, nstype, what) {
    check(lib().setns(fd, nstype), "setns", what);
  },
  nsType(fd, what) {
    const t = lib().ioctl(fd, NS_GET_NSTYPE, 0);
    check(t, "ioctl(NS_GET_NSTYPE)", what);
    return t;
  },
  mount(source, target, fstype, flags, data) {
    const rc = lib().mount(nullable(source), cstr(target), nullable(fstype), flags, nullable(data));
    check(rc, "mount", `${source ?? "none"} on ${target}${fstype ? ` type ${fstype}` : ""}`);
  },
  umount(target, flags) {
    check(lib().umount2(cstr(target), flags), "umount", target);
  },
  pivotRoot(newRoot, putOld) {
    const a = cstr(newRoot);
    const b = cstr(putOld);
    check(syscall(SYS.pivot_root, ptr(a), ptr(b)), "pivot_root", newRoot);
  },
  chdir(path) {
    check(lib().chdir(cstr(path)), "chdir", path);
  },
  fchdir(fd, what) {
    check(lib().fchdir(fd), "fchdir", what);
  },
  chroot(path) {
    check(lib().chroot(cstr(path)), "chroot", path);
  },
  sethostname(name) {
    const b = encodeText(name);
    check(lib().sethostname(b, b.length), "sethostname", name);
  },
  setdomainname(name) {
    const b = encodeText(name);
    check(lib().setdomainname(b, b.length), "setdomainname", name);
  },
  openat(dirfd, path, flags, mode = 0) {
    const fd = lib().openat(dirfd, cstr(path), flags, mode);
    check(fd, "open", path);
    return fd;
  },
  openat2(dirfd, path, flags, mode, resolve) {
    const fd = linuxSys.tryOpenat2(dirfd, path, flags, mode, resolve);
    if (fd < 0) throw new SysError("openat2", -fd, path);
    return fd;
  },
  tryOpenat2(dirfd, path, flags, mode, resolve) {
    // struct open_how { u64 flags; u64 mode; u64 resolve; }
    const how = new BigUint64Array([BigInt(flags), BigInt(mode), BigInt(resolve)]);
    const fd = lib().sys_openat2(dirfd, cstr(path), how, 24);
    return fd < 0 ? -errno() : fd;
  },
  close(fd) {
    check(lib().close(fd), "close", String(fd));
  },
  write(fd, data, what) {
    const buf = encodeText(data);
    const n = lib().write(fd, buf, buf.length);
    if (n < 0n) throw new SysError("write", errno(), what);
    if (Number(n) !== buf.length) throw new SysError("write", 5 /* EIO: short write */, what);
  },
  readlinkat(dirfd, path) {
    return readlinkAt(dirfd, path);
  },
  fsType(fd) {
    // struct statfs starts with f_type (a long on x86_64 and aarch64).
    const buf = new BigInt64Array(16);
    check(lib().fstatfs(fd, buf), "fstatfs", `fd ${fd}`);
    return Number(buf[0]!);
  },
  fstat(fd) {
    const st = statFd(fd);
    return { mode: st.mode, rdev: st.rdev, isDirectory: st.isDirectory };
  },
  unlinkIfPresent(dirfd, path, flags) {
    if (lib().unlinkat(dirfd, cstr(path), flags) === 0) return;
    const e = errno();
    if (e !== ENOENT) throw new SysError("unlink", e, path);
  },
  mkdirat(dirfd, path, mode) {
    check(lib().mkdirat(dirfd, cstr(path), mode), "mkdir", path);
  },
  mknodat(dirfd, path, mode, dev) {
    check(lib().mknodat(dirfd, cstr(path), mode, dev), "mknod", path);
  },
  symlinkat(target, dirfd, path) {
    check(lib().symlinkat(cstr(target), dirfd, cstr(path)), "symlink", path);
  },
  fchownat(dirfd, path, uid, gid, flags) {
    check(lib().fchownat(dirfd, cstr(path), uid, gid, flags), "chown", path || `fd ${dirfd}`);
  },
  fchmod(fd, mode) {
    check(lib().fchmod(fd, mode), "chmod", `fd ${fd}`);
  },
  umask(mask) {
    return lib().umask(mask);
  },
  prctl(option, arg2 = 0, arg3 = 0) {
    const rc = lib().prctl(option, arg2, arg3, 0, 0);
    check(rc, "prctl", String(option));
    return rc;
  },
  setresuid(uid) {
    check(lib().setresuid(uid, uid, uid), "setresuid", String(uid));
  },
  setresgid(gid) {
    check(lib().setresgid(gid, gid, gid), "setresgid", String(gid));
  },
  setgroups(gids) {
    const list = new Uint32Array(gids.length || 1);
    list.set(gids);
    check(lib().setgroups(gids.length, list), "setgroups", gids.join(","));
  },
  capset(sets) {
    const header = new Uint32Array([LINUX_CAPABILITY_VERSION_3, 0]);
    const lo = (v: bigint) => Number(v & 0xffffffffn);
    const hi = (v: bigint) => Number((v >> 32n) & 0xffffffffn);
    const data = new Uint32Array([
      lo(sets.effective), lo(sets.permitted), lo(sets.inheritable),
      hi(sets.effective), hi(sets.permitted), hi(sets.inheritable),
    ]);
    check(syscall(SYS.capset, ptr(header), ptr(data)), "capset");
  },
  capBoundingDrop(cap) {
    check(lib().prctl(PR.CAPBSET_DROP, cap, 0, 0, 0), "prctl(PR_CAPBSET_DROP)", String(cap));
  },
  ambientClearAll() {
    check(lib().prctl(PR.CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
  },
  ambientRaise(cap) {
    check(lib().prctl(PR.CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0), "prctl(PR_CAP_AMBIENT_RAISE)", String(cap));
  },
  setrlimit(resource, soft, hard, name) {
    const lim = new BigUint64Array([soft, hard]);
    check(lib().prlimit(0, resource, lim, null), "prlimit", name);
  },
  keepAcrossExec(count) {
    keepAcrossExec(count);
  },
  closeFromOnExec(first) {
    check(syscall(SYS.close_range, first, 0xffffffff, CLOSE_RANGE_CLOEXEC), "close_range");
  },
  resetSignals() {
    for (let sig = 1; sig <= 64; sig++) {
      if (sig === 9 || sig === 19 || sig === 32 || sig === 33) continue; // KILL, STOP, glibc's own
      lib().signal(sig, null);
    }
    const empty = new Uint8Array(128);
    check(lib().sigprocmask(2 /* SIG_SETMASK */, empty, null), "sigprocmask");
  },
  execve(path, argv, envp) {
    const keep: Uint8Array[] = [];
    const array = (list: string[]) => {
      const a = new BigUint64Array(list.length + 1);
      list.forEach((s, i) => {
        const b = cstr(s);
        keep.push(b);
        a[i] = BigInt(ptr(b));
      });
      return a;
    };
    const argvp = array(argv);
    const envpp = array(envp);
    lib().execve(cstr(path), argvp, envpp);
    throw new SysError("exec", errno(), path);
  },
  kill(pid, signal) {
    check(lib().kill(pid, signal), "kill", String(pid));
  },
  seccompSetFilter(flags, program) {
    const SECCOMP_SET_MODE_FILTER = 1;
    // struct sock_fprog { unsigned short len; struct sock_filter *filter; }
    const fprog = new Uint8Array(16);
    const view = new DataView(fprog.buffer);
    view.setUint16(0, program.length / 8, true);
    view.setBigUint64(8, BigInt(ptr(program)), true);
    const rc = syscall(SYS.seccomp, SECCOMP_SET_MODE_FILTER, flags, ptr(fprog));
    check(rc, "seccomp(SECCOMP_SET_MODE_FILTER)");
    return Number(rc);
  },
  openPty(ptmxPath) {
    const TIOCSPTLCK = 0x40045431;
    const TIOCGPTN = 0x80045430;
    const TIOCGPTPEER = 0x5441;
    const master = linuxSys.openat(AT_FDCWD, ptmxPath, O.RDWR | O.NOCTTY | O.CLOEXEC);
    try {
      const unlock = new Int32Array(1);
      check(lib().ioctl(master, TIOCSPTLCK, BigInt(ptr(unlock))), "ioctl(TIOCSPTLCK)", ptmxPath);
      const n = new Uint32Array(1);
      check(lib().ioctl(master, TIOCGPTN, BigInt(ptr(n))), "ioctl(TIOCGPTN)", ptmxPath);
      // The peer through the master, not by its path: a planted /dev/pts/N symlink cannot
      // hand us something else (CVE-2025-52565).
      const slave = lib().ioctl(master, TIOCGPTPEER, O.RDWR | O.NOCTTY | O.CLOEXEC);
      check(slave, "ioctl(TIOCGPTPEER)", ptmxPath);
      return { master, slave, name: `/dev/pts/${n[0]}` };
    } catch (err) {
      lib().close(master);
      throw err;
    }
  },
  setWindowSize(fd, rows, cols) {
    const TIOCSWINSZ = 0x5414;
    const ws = new Uint16Array([rows, cols, 0, 0]);
    check(lib().ioctl(fd, TIOCSWINSZ, BigInt(ptr(ws))), "ioctl(TIOCSWINSZ)");
  },
  takeTerminal(tty) {
    const TIOCSCTTY = 0x540e;
    check(lib().setsid(), "setsid");
    check(lib().ioctl(tty, TIOCSCTTY, 0n), "ioctl(TIOCSCTTY)");
    for (const fd of [0, 1, 2]) check(lib().dup2(tty, fd), "dup2", `terminal to fd ${fd}`);
  },
  newSession() {
    check(lib().setsid(), "setsid");
  },
  joinSessionKeyring(name) {
    const KEYCTL_JOIN_SESSION_KEYRING = 1;
    const p = cstr(name);
    const rc = syscall(SYS.keyctl, KEYCTL_JOIN_SESSION_KEYRING, ptr(p));
    // Kernels without keyrings have nothing to share: not an error.
    if (rc < 0n && errno() !== ENOSYS) throw new SysError("keyctl(JOIN_SESSION_KEYRING)", errno(), name);
  },
  openTree(dirfd, path, flags) {
    const p = cstr(path);
    const fd = Number(syscall(SYS.open_tree, dirfd, ptr(p), flags));
    check(fd, "open_tree", path);
    return fd;
  },
  mountSetattr(fd, path, flags, attrSet, attrClr) {
    // struct mount_attr { u64 attr_set; u64 attr_clr; u64 propagation; u64 userns_fd; }
    const attr = new BigUint64Array([attrSet, attrClr, 0n, 0n]);
    const p = cstr(path);
    check(syscall(SYS.mount_setattr, fd, ptr(p), flags, ptr(attr), 32), "mount_setattr", path || `fd ${fd}`);
  },
  moveMount(fromFd, toFd, what) {
    const empty = cstr("");
    const flags = MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH;
    check(syscall(SYS.move_mount, fromFd, ptr(empty), toFd, ptr(empty), flags), "move_mount", what);
  },
};
