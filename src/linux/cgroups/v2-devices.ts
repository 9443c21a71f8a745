// Device control on cgroup v2: the container's device rules, replayed as v1 would apply
// them (device-emulator.ts), become one BPF_PROG_TYPE_CGROUP_DEVICE program
// (device-bpf.ts) attached to the container's cgroup directory.
//
// Attached with BPF_F_ALLOW_MULTI, because of how the kernel combines programs along the
// tree: a device access runs the programs of the process's cgroup and those of each
// ancestor that attached with ALLOW_MULTI, and all of them must allow it.
// - Without a flag, no cgroup below ours could attach a program at all (EPERM): a runtime
//   or service manager inside the container could not set its own device policy.
// - With BPF_F_ALLOW_OVERRIDE, a program below ours would replace ours for its subtree: the
//   container could lift its own restrictions.
// - Programs on one cgroup must all use the same flag, and service managers that set device
//   policies attach with ALLOW_MULTI; ALLOW_MULTI also lets the new program go on
//   before the old one comes off when the rules change, so no access is ever unchecked.
// A program attached by the container's parent with ALLOW_MULTI keeps running besides ours.
//
// The program stays loaded for as long as it is attached: the fds are closed at once, and
// it goes away with the cgroup directory.
import { attachDeviceProgram, closeBpfFd, detachDeviceProgram, loadDeviceProgram, openProgramById, queryDevicePrograms } from "../../../ffi/bpf.ts";
import { O } from "../../../ffi/constants.ts";
import type { SysError } from "../../../ffi/errors.ts";
import { closeFd, openRaw } from "../../../ffi/io.ts";
import { deviceProgram } from "./device-bpf.ts";
import { emulateDeviceRules, type DeviceState } from "./device-emulator.ts";
import type { DeviceRule } from "./device-rules.ts";

const ENOENT = 2, EPERM = 1, EACCES = 13;

/**
 * Put the device policy of `rules` (in order, v1 semantics) on the cgroup2 directory `dir`.
 * Device programs attached to `dir` itself before (an earlier call: `update`) are detached
 * once the new one is on. Returns the emulated state (its `ignored` rules are worth a warning).
 */
export function applyV2Devices(dir: string, rules: readonly DeviceRule[]): DeviceState {
  const state = emulateDeviceRules(rules);
  const progFd = loadDeviceProgram(deviceProgram(state));
  let dirFd = -1;
  try {
    dirFd = openRaw(dir, O.DIRECTORY | O.RDONLY);
    const before = queryDevicePrograms(dirFd, dir);
    attachDeviceProgram(dirFd, progFd, dir);
    for (const id of before) detachById(dirFd, id, dir);
  } finally {
    if (dirFd >= 0) closeFd(dirFd);
    closeBpfFd(progFd);
  }
  return state;
}

function detachById(dirFd: number, id: number, dir: string): void {
  let fd: number;
  try {
    fd = openProgramById(id);
  } catch (err) {
    // Gone meanwhile, or hidden from us by an LSM: an extra device program only restricts.
    const e = (err as SysError).errno;
    if (e === ENOENT || e === EPERM || e === EACCES) return;
    throw err;
  }
  try {
    detachDeviceProgram(dirFd, fd, dir);
  } catch (err) {
    if ((err as SysError).errno !== ENOENT) throw err;
  } finally {
    closeBpfFd(fd);
  }
}
