// A read-only view of our own executable: a detached bind mount of the file (open_tree) made
// read-only (mount_setattr) before anything runs from it. 0.7 ms, no copy of the 100 MB
// binary (a sealed memfd copy would cost ~100 ms and ~100 MB per container).
//
// Rootless, open_tree is refused (it needs CAP_SYS_ADMIN over the host's mount namespace).
// There a plain read-only fd is as safe, provided the caller can neither write the binary
// nor change its mode: the container's root is the caller, and a user namespace grants no
// power over files whose owner it does not map. A binary the caller owns or may write is
// refused, naming the fix.
import { nodeFs } from "../../node-fs.ts";
import { AT_FDCWD, MOUNT_ATTR, O, OPEN_TREE } from "../../../ffi/constants.ts";
import { SysError } from "../../../ffi/errors.ts";
import type { Sys } from "../../../ffi/sys.ts";
import { BuncError } from "../../errors.ts";
import { EMPTY_PATH } from "../../linux/safe-path.ts";

const EPERM = 1;

export function readOnlySelf(sys: Sys): number {
  let fd: number;
  try {
    fd = sys.openTree(AT_FDCWD, "/proc/self/exe", OPEN_TREE.CLONE | OPEN_TREE.CLOEXEC);
  } catch (err) {
    if (!(err instanceof SysError) || err.errno !== EPERM || process.geteuid!() === 0) throw err;
    return unwritableSelf(sys);
  }
  try {
    sys.mountSetattr(fd, "", EMPTY_PATH, BigInt(MOUNT_ATTR.RDONLY), 0n);
  } catch (err) {
    sys.close(fd);
    throw err;
  }
  return fd;
}

function unwritableSelf(sys: Sys): number {
  const path = process.execPath;
  const owned = nodeFs().statSync("/proc/self/exe").uid === process.geteuid!();
  let writable = true;
  try {
    nodeFs().accessSync("/proc/self/exe", nodeFs().constants.W_OK);
  } catch {
    writable = false;
  }
  if (owned || writable) {
    throw new BuncError(
      "system",
      `${path}: a rootless container must not be able to overwrite the runtime, and this binary is ${owned ? "owned" : "writable"} by you: install it owned by root and not writable by you (e.g. sudo install -m 755 -o root bunc /usr/local/bin/)`,
    );
  }
  return sys.openat(AT_FDCWD, "/proc/self/exe", O.RDONLY | O.CLOEXEC);
}
