// Find the program of process.args[0] as execve will see it, so a missing or unexecutable
// program fails `create` with a clear message (exit 127 / 126) rather than a dead container.
import { statPath } from "../../ffi/files.ts";
import { EACCES } from "../../ffi/errors.ts";
import { joinPath } from "./posix-path.ts";
import { BuncError } from "../errors.ts";

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function check(path: string): "ok" | "missing" | "denied" {
  try {
    const st = statPath(path);
    if (st.isDirectory || (st.mode & 0o111) === 0) return "denied";
    return "ok";
  } catch (err) {
    return (err as { errno?: number }).errno === EACCES ? "denied" : "missing";
  }
}

/** Resolve `program` against the container's PATH (from `env`), relative to the cwd. */
export function lookPath(program: string, env: string[]): string {
  if (program.includes("/")) {
    const result = check(program);
    if (result === "missing") throw new BuncError("exec-not-found", `exec: ${JSON.stringify(program)}: no such file or directory`);
    if (result === "denied") throw new BuncError("exec-denied", `exec: ${JSON.stringify(program)}: permission denied`);
    return program;
  }
  const pathVar = env.findLast((e) => e.startsWith("PATH="))?.slice(5) ?? DEFAULT_PATH;
  let denied = false;
  for (const dir of pathVar.split(":")) {
    const candidate = joinPath(dir || ".", program);
    const result = check(candidate);
    if (result === "ok") return candidate;
    if (result === "denied") denied = true;
  }
  if (denied) throw new BuncError("exec-denied", `exec: ${JSON.stringify(program)}: permission denied`);
  throw new BuncError("exec-not-found", `exec: ${JSON.stringify(program)}: executable file not found in $PATH`);
}
