// Raw syscall numbers for the calls glibc has no wrapper for (or whose wrapper we avoid).
// x86_64: arch/x86/entry/syscalls/syscall_64.tbl; aarch64: include/uapi/asm-generic/unistd.h.
export interface SyscallNumbers {
  pivot_root: number;
  capget: number;
  capset: number;
  openat2: number;
  open_tree: number;
  move_mount: number;
  mount_setattr: number;
  close_range: number;
  seccomp: number;
  keyctl: number;
  bpf: number;
  bind: number;
  listen: number;
  accept4: number;
}

const x86_64: SyscallNumbers = {
  pivot_root: 155,
  capget: 125,
  capset: 126,
  openat2: 437,
  open_tree: 428,
  move_mount: 429,
  mount_setattr: 442,
  close_range: 436,
  seccomp: 317,
  keyctl: 250,
  bind: 49,
  listen: 50,
  accept4: 288,
  bpf: 321,
};

const aarch64: SyscallNumbers = {
  pivot_root: 41,
  capget: 90,
  capset: 91,
  openat2: 437,
  open_tree: 428,
  move_mount: 429,
  mount_setattr: 442,
  close_range: 436,
  seccomp: 277,
  keyctl: 219,
  bind: 200,
  listen: 201,
  accept4: 242,
  bpf: 280,
};

export function syscallNumbersFor(arch: string): SyscallNumbers {
  if (arch === "x64") return x86_64;
  if (arch === "arm64") return aarch64;
  throw new Error(`bunc: unsupported architecture ${arch}`);
}

export const SYS = syscallNumbersFor(process.arch);
