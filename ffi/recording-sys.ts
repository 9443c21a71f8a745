// A Sys that touches nothing: it records each call so a test can assert the exact order
// of kernel effects a plan would have. Calls can be made to fail with `failOn`.
import { SysError } from "./errors.ts";
import type { CapSets, Sys } from "./sys.ts";

export interface RecordedCall {
  call: keyof Sys;
  args: unknown[];
}

export class ExecCalled extends Error {
  constructor(
    readonly path: string,
    readonly argv: string[],
    readonly envp: string[],
  ) {
    super(`execve ${path}`);
  }
}

export class RecordingSys implements Sys {
  readonly calls: RecordedCall[] = [];
  private nextFd = 100;
  /** nsType answers: fd → CLONE_NEW* flag. */
  readonly nsTypes = new Map<number, number>();
  private failures = new Map<string, number>();

  /** Make the next call named `call` fail with `errno`. */
  failOn(call: keyof Sys, errno: number) {
    this.failures.set(call, errno);
  }

  private record(call: keyof Sys, ...args: unknown[]) {
    this.calls.push({ call, args });
    const errno = this.failures.get(call);
    if (errno !== undefined) {
      this.failures.delete(call);
      throw new SysError(call, errno, typeof args[0] === "string" ? args[0] : undefined);
    }
  }

  names(): string[] {
    return this.calls.map((c) => c.call);
  }

  unshare(flags: number) { this.record("unshare", flags); }
  setns(fd: number, nstype: number, what: string) { this.record("setns", fd, nstype, what); }
  nsType(fd: number, what: string) {
    this.record("nsType", fd, what);
    return this.nsTypes.get(fd) ?? 0;
  }
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null) {
    this.record("mount", source, target, fstype, flags, data);
  }
  umount(target: string, flags: number) { this.record("umount", target, flags); }
  pivotRoot(newRoot: string, putOld: string) { this.record("pivotRoot", newRoot, putOld); }
  chdir(path: string) { this.record("chdir", path); }
  fchdir(fd: number, what: string) { this.record("fchdir", fd, what); }
  chroot(path: string) { this.record("chroot", path); }
  sethostname(name: string) { this.record("sethostname", name); }
  setdomainname(name: string) { this.record("setdomainname", name); }
  openat(dirfd: number, path: string, flags: number, mode = 0) {
    this.record("openat", dirfd, path, flags, mode);
    return this.nextFd++;
  }
  openat2(dirfd: number, path: string, flags: number, mode: number, resolve: number) {
    this.record("openat2", dirfd, path, flags, mode, resolve);
    return this.nextFd++;
  }
  close(fd: number) { this.record("close", fd); }
  write(fd: number, data: string, what: string) { this.record("write", fd, data, what); }
  /** readlinkat answers: name → target. */
  readonly links = new Map<string, string>();
  readlinkat(dirfd: number, path: string) {
    this.record("readlinkat", dirfd, path);
    const target = this.links.get(path);
    if (target === undefined) throw new SysError("readlink", 22, path);
    return target;
  }
  /** fstat answers: fd → what it is. Unknown fds look like directories. */
  readonly stats = new Map<number, { mode: number; rdev: number; isDirectory: boolean }>();
  fstat(fd: number) {
    this.record("fstat", fd);
    return this.stats.get(fd) ?? { mode: 0o040755, rdev: 0, isDirectory: true };
  }
  /** fsType answers: fd → f_type. Unknown fds are on an ext4-like filesystem. */
  readonly fsTypes = new Map<number, number>();
  fsType(fd: number) {
    this.record("fsType", fd);
    return this.fsTypes.get(fd) ?? 0xef53;
  }
  unlinkIfPresent(dirfd: number, path: string, flags: number) { this.record("unlinkIfPresent", dirfd, path, flags); }
  /** Paths tryOpenat2 reports missing (ENOENT), once each: as if made right after. */
  readonly missing = new Set<string>();
  tryOpenat2(dirfd: number, path: string, flags: number, mode: number, resolve: number) {
    this.record("tryOpenat2", dirfd, path, flags, mode, resolve);
    if (this.missing.delete(path)) return -2;
    return this.nextFd++;
  }
  mkdirat(dirfd: number, path: string, mode: number) { this.record("mkdirat", dirfd, path, mode); }
  mknodat(dirfd: number, path: string, mode: number, dev: bigint) { this.record("mknodat", dirfd, path, mode, dev); }
  symlinkat(target: string, dirfd: number, path: string) { this.record("symlinkat", target, dirfd, path); }
  fchownat(dirfd: number, path: string, uid: number, gid: number, flags: number) {
    this.record("fchownat", dirfd, path, uid, gid, flags);
  }
  fchmod(fd: number, mode: number) { this.record("fchmod", fd, mode); }
  umask(mask: number) {
    this.record("umask", mask);
    return 0o022;
  }
  prctl(option: number, arg2 = 0, arg3 = 0) {
    this.record("prctl", option, arg2, arg3);
    return 0;
  }
  setresuid(uid: number) { this.record("setresuid", uid); }
  setresgid(gid: number) { this.record("setresgid", gid); }
  setgroups(gids: number[]) { this.record("setgroups", gids); }
  capset(sets: CapSets) { this.record("capset", sets); }
  capBoundingDrop(cap: number) { this.record("capBoundingDrop", cap); }
  ambientClearAll() { this.record("ambientClearAll"); }
  ambientRaise(cap: number) { this.record("ambientRaise", cap); }
  setrlimit(resource: number, soft: bigint, hard: bigint, name: string) {
    this.record("setrlimit", resource, soft, hard, name);
  }
  closeFromOnExec(first: number) { this.record("closeFromOnExec", first); }
  keepAcrossExec(count: number) { this.record("keepAcrossExec", count); }
  resetSignals() { this.record("resetSignals"); }
  execve(path: string, argv: string[], envp: string[]): never {
    this.record("execve", path, argv, envp);
    throw new ExecCalled(path, argv, envp);
  }
  kill(pid: number, signal: number) { this.record("kill", pid, signal); }
  seccompSetFilter(flags: number, program: Buffer) {
    this.record("seccompSetFilter", flags, program);
    return flags & 8 ? this.nextFd++ : 0;
  }
  openPty(ptmxPath: string) {
    this.record("openPty", ptmxPath);
    return { master: this.nextFd++, slave: this.nextFd++, name: "/dev/pts/0" };
  }
  setWindowSize(fd: number, rows: number, cols: number) { this.record("setWindowSize", fd, rows, cols); }
  takeTerminal(tty: number) { this.record("takeTerminal", tty); }
  newSession() { this.record("newSession"); }
  joinSessionKeyring(name: string) { this.record("joinSessionKeyring", name); }
  openTree(dirfd: number, path: string, flags: number) {
    this.record("openTree", dirfd, path, flags);
    return this.nextFd++;
  }
  mountSetattr(fd: number, path: string, flags: number, attrSet: bigint, attrClr: bigint) {
    this.record("mountSetattr", fd, path, flags, attrSet, attrClr);
  }
  moveMount(fromFd: number, toFd: number, what: string) { this.record("moveMount", fromFd, toFd, what); }
}
