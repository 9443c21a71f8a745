// bpf(2) for cgroup v2 device control: load a BPF_PROG_TYPE_CGROUP_DEVICE program, attach
// it to a cgroup directory, list and detach the ones there. Every command takes a
// union bpf_attr (linux/bpf.h) that we lay out by hand, zero-filled: the kernel rejects
// non-zero bytes in fields it does not use for the command.
import { ptr } from "bun:ffi";
import { cstr, errno, lib } from "./libc.ts";
import { SysError } from "./errors.ts";
import { SYS } from "./syscall-numbers.ts";

const CMD = { PROG_LOAD: 5, PROG_ATTACH: 8, PROG_DETACH: 9, PROG_GET_FD_BY_ID: 13, PROG_QUERY: 16 } as const;
const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
const BPF_CGROUP_DEVICE = 6;
/** Programs attached with it run together with the others on the cgroup and its ancestors. */
export const BPF_F_ALLOW_MULTI = 2;

const EPERM = 1;
const ENOSPC = 28;
const RLIMIT_MEMLOCK = 8;
const INSN_SIZE = 8;
/** Bytes of bpf_attr we pass: more than any command here uses, less than any kernel's union. */
const ATTR_SIZE = 128;
const LOG_SIZE = 256 * 1024;

/** bpf(cmd, attr) → the result, or -errno. */
function bpf(cmd: number, attr: Buffer): number {
  const rc = Number(lib().syscall(BigInt(SYS.bpf), BigInt(cmd), BigInt(ptr(attr)), BigInt(attr.length), 0n, 0n, 0n));
  return rc < 0 ? -errno() : rc;
}

// union bpf_attr, the BPF_PROG_LOAD part
const LOAD = { progType: 0, insnCnt: 4, insns: 8, license: 16, logLevel: 24, logSize: 28, logBuf: 32, progName: 48 } as const;

function tryLoad(insns: Buffer, license: Uint8Array, name: string, log?: Buffer): number {
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(BPF_PROG_TYPE_CGROUP_DEVICE, LOAD.progType);
  attr.writeUInt32LE(insns.length / INSN_SIZE, LOAD.insnCnt);
  attr.writeBigUInt64LE(BigInt(ptr(insns)), LOAD.insns);
  attr.writeBigUInt64LE(BigInt(ptr(license)), LOAD.license);
  if (log) {
    attr.writeUInt32LE(1, LOAD.logLevel);
    attr.writeUInt32LE(log.length, LOAD.logSize);
    attr.writeBigUInt64LE(BigInt(ptr(log)), LOAD.logBuf);
  }
  attr.write(name.slice(0, 15), LOAD.progName, "latin1"); // char prog_name[16], NUL-terminated
  return bpf(CMD.PROG_LOAD, attr);
}

/** Runs `load` with RLIMIT_MEMLOCK lifted, then puts the limit back. */
function withoutMemlockLimit(load: () => number): number {
  const old = new BigUint64Array(2);
  if (lib().prlimit(0, RLIMIT_MEMLOCK, null, old) !== 0) return load();
  const infinite = new BigUint64Array([0xffffffffffffffffn, 0xffffffffffffffffn]); // RLIM_INFINITY
  if (lib().prlimit(0, RLIMIT_MEMLOCK, infinite, null) !== 0) return load();
  try {
    return load();
  } finally {
    lib().prlimit(0, RLIMIT_MEMLOCK, old, null);
  }
}

/**
 * Load a cgroup device program (bytes of struct bpf_insn); returns its fd (close-on-exec).
 * The license string matters only to programs calling GPL-only helpers, which a device
 * program never does. A refused program is loaded again with a log buffer, and the error
 * carries what the verifier said.
 */
export function loadDeviceProgram(insns: Buffer, license = "Apache-2.0", name = "bunc_devices"): number {
  if (insns.length === 0 || insns.length % INSN_SIZE !== 0) {
    throw new SysError("bpf(BPF_PROG_LOAD)", 22, `device program of ${insns.length} bytes`);
  }
  const lic = cstr(license);
  let fd = tryLoad(insns, lic, name);
  // Kernels before 5.11 charge programs to RLIMIT_MEMLOCK, often 64 KiB: lift it and retry.
  if (fd === -EPERM) fd = withoutMemlockLimit(() => tryLoad(insns, lic, name));
  if (fd >= 0) return fd;
  const log = Buffer.alloc(LOG_SIZE);
  const again = tryLoad(insns, lic, name, log);
  if (again >= 0) return again; // refused once, then accepted: take it
  const text = log.subarray(0, Math.max(0, log.indexOf(0))).toString().trim();
  const err = new SysError("bpf(BPF_PROG_LOAD)", -fd, `cgroup device program of ${insns.length / INSN_SIZE} instructions`);
  if (text) err.message += `\nverifier log:\n${text.split("\n").slice(-40).join("\n")}`;
  throw err;
}

// union bpf_attr, the BPF_PROG_ATTACH / BPF_PROG_DETACH part
const ATTACH = { targetFd: 0, attachBpfFd: 4, attachType: 8, attachFlags: 12 } as const;

function attachAttr(cgroupDirFd: number, progFd: number, flags: number): Buffer {
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(cgroupDirFd, ATTACH.targetFd);
  attr.writeUInt32LE(progFd, ATTACH.attachBpfFd);
  attr.writeUInt32LE(BPF_CGROUP_DEVICE, ATTACH.attachType);
  attr.writeUInt32LE(flags, ATTACH.attachFlags);
  return attr;
}

/** Attach the program to the cgroup directory open as `cgroupDirFd`, with BPF_F_ALLOW_MULTI. */
export function attachDeviceProgram(cgroupDirFd: number, progFd: number, what = `cgroup fd ${cgroupDirFd}`): void {
  const rc = bpf(CMD.PROG_ATTACH, attachAttr(cgroupDirFd, progFd, BPF_F_ALLOW_MULTI));
  if (rc < 0) throw new SysError("bpf(BPF_PROG_ATTACH, BPF_CGROUP_DEVICE)", -rc, what);
}

/** Detach that one program (by its fd) from the cgroup. */
export function detachDeviceProgram(cgroupDirFd: number, progFd: number, what = `cgroup fd ${cgroupDirFd}`): void {
  const rc = bpf(CMD.PROG_DETACH, attachAttr(cgroupDirFd, progFd, 0));
  if (rc < 0) throw new SysError("bpf(BPF_PROG_DETACH, BPF_CGROUP_DEVICE)", -rc, what);
}

// union bpf_attr, the BPF_PROG_QUERY part
const QUERY = { targetFd: 0, attachType: 4, queryFlags: 8, attachFlags: 12, progIds: 16, progCnt: 24 } as const;

/**
 * Ids of the device programs attached to this cgroup itself (not those its ancestors add),
 * in the order they run.
 */
export function queryDevicePrograms(cgroupDirFd: number, what = `cgroup fd ${cgroupDirFd}`): number[] {
  let room = 64;
  for (;;) {
    const ids = new Uint32Array(room);
    const attr = Buffer.alloc(ATTR_SIZE);
    attr.writeUInt32LE(cgroupDirFd, QUERY.targetFd);
    attr.writeUInt32LE(BPF_CGROUP_DEVICE, QUERY.attachType);
    attr.writeBigUInt64LE(BigInt(ptr(ids)), QUERY.progIds);
    attr.writeUInt32LE(room, QUERY.progCnt);
    const rc = bpf(CMD.PROG_QUERY, attr);
    const count = attr.readUInt32LE(QUERY.progCnt);
    if (rc === -ENOSPC && count > room) {
      room = count; // more were attached than we had room for: the kernel says how many
      continue;
    }
    if (rc < 0) throw new SysError("bpf(BPF_PROG_QUERY, BPF_CGROUP_DEVICE)", -rc, what);
    return [...ids.subarray(0, count)];
  }
}

/** An fd for the loaded program with this id (close-on-exec): what detach needs. */
export function openProgramById(id: number): number {
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(id, 0); // prog_id
  const fd = bpf(CMD.PROG_GET_FD_BY_ID, attr);
  if (fd < 0) throw new SysError("bpf(BPF_PROG_GET_FD_BY_ID)", -fd, `program ${id}`);
  return fd;
}

export function closeBpfFd(fd: number): void {
  lib().close(fd);
}
