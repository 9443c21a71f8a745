// POSIX path text, as node:path's posix functions treat it, for the container stages: they
// must not load node:path (~0.5 ms of a Bun process's start) for three functions.

export const isAbsolutePath = (path: string) => path.startsWith("/");

/** "." and ".." resolved, slashes collapsed; ".." stops at the root; a trailing slash kept. */
export function normalizePath(path: string): string {
  if (path === "") return ".";
  const absolute = path.startsWith("/");
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === ".." && (absolute || (out.length > 0 && out[out.length - 1] !== ".."))) out.pop();
    else out.push(part);
  }
  let result = (absolute ? "/" : "") + out.join("/");
  if (result === "") result = absolute ? "/" : ".";
  if (path.endsWith("/") && !result.endsWith("/")) result += "/";
  return result;
}

/** An absolute path: `path` against the cwd when it is relative, normalized, no trailing slash. */
export function resolvePath(path: string): string {
  const abs = normalizePath(isAbsolutePath(path) ? path : `${process.cwd()}/${path}`);
  return abs.length > 1 && abs.endsWith("/") ? abs.slice(0, -1) : abs;
}

export const joinPath = (...parts: string[]) => normalizePath(parts.filter((p) => p !== "").join("/") || ".");
