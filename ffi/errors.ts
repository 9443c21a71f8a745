import { BuncError } from "../src/errors.ts";

const names: Record<number, string> = {
  1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 9: "EBADF", 10: "ECHILD", 11: "EAGAIN",
  12: "ENOMEM", 13: "EACCES", 14: "EFAULT", 16: "EBUSY", 17: "EEXIST", 18: "EXDEV", 19: "ENODEV",
  20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL", 24: "EMFILE", 25: "ENOTTY", 26: "ETXTBSY", 28: "ENOSPC",
  30: "EROFS", 32: "EPIPE", 36: "ENAMETOOLONG", 38: "ENOSYS", 39: "ENOTEMPTY", 40: "ELOOP",
  95: "EOPNOTSUPP", 110: "ETIMEDOUT",
};

export const errnoName = (errno: number) => names[errno] ?? `errno ${errno}`;

/** A failed system call: names the call, the path or object, and the errno. */
export class SysError extends BuncError {
  constructor(
    readonly call: string,
    errno: number,
    readonly path?: string,
  ) {
    super("system", `${call}${path === undefined ? "" : ` ${path}`}: ${errnoName(errno)}`, errno);
    this.name = "SysError";
  }
}

export const ENOENT = 2;
export const ESRCH = 3;
export const EINTR = 4;
export const EAGAIN = 11;
export const EACCES = 13;
export const EEXIST = 17;
export const EINVAL = 22;
export const ENOSYS = 38;
