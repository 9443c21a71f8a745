// The process `exec` runs: from --process FILE, or the container's own process with the
// command line and the flags laid over it, as runc builds it. `-u` is parsed strictly:
// uint32 only, no trailing junk (a lax parse once ran processes as the wrong user).
import { readFileSync } from "node:fs";
import { BuncError } from "../errors.ts";
import { isCapabilityName } from "../linux/capabilities.ts";
import type { Process } from "../spec/runtime-config.ts";

export interface ExecFlags {
  processFile?: string;
  args: string[];
  cwd?: string;
  env: string[];
  user?: string;
  additionalGids: string[];
  caps: string[];
  noNewPrivs: boolean;
  apparmor?: string;
  processLabel?: string;
  tty: boolean;
}

const UINT32 = /^(0|[1-9]\d{0,9})$/;

export function parseId(text: string, flag: string): number {
  if (!UINT32.test(text) || Number(text) > 0xfffffffe) {
    throw new BuncError("usage", `${flag}: ${JSON.stringify(text)} is not a valid id (0 to 4294967294)`);
  }
  return Number(text);
}

/** "UID" or "UID:GID", nothing else. */
export function parseUser(text: string): { uid: number; gid?: number } {
  const parts = text.split(":");
  if (parts.length > 2) throw new BuncError("usage", `--user: ${JSON.stringify(text)} is not UID[:GID]`);
  return { uid: parseId(parts[0]!, "--user"), gid: parts.length === 2 ? parseId(parts[1]!, "--user") : undefined };
}

export async function execProcessSpec(template: Process | undefined, flags: ExecFlags, parse: (text: string, file: string) => Process): Promise<Process> {
  if (flags.processFile) {
    let text: string;
    try {
      text = flags.processFile === "-" ? await Bun.stdin.text() : readFileSync(flags.processFile, "utf8");
    } catch (err) {
      throw new BuncError("usage", `--process ${flags.processFile}: ${(err as Error).message}`);
    }
    return parse(text, flags.processFile);
  }
  if (!flags.args.length) throw new BuncError("usage", "exec needs a command or --process");
  const base: Process = structuredClone(template ?? ({ cwd: "/", args: ["sh"], user: { uid: 0, gid: 0 } } as Process));
  const process: Process = { ...base, args: flags.args, terminal: flags.tty };
  if (flags.cwd) process.cwd = flags.cwd;
  if (flags.env.length) process.env = [...(base.env ?? []), ...flags.env];
  if (flags.user) {
    const { uid, gid } = parseUser(flags.user);
    // A bare UID keeps the process's gid, as runc does.
    process.user = { ...process.user, uid, gid: gid ?? process.user?.gid ?? 0 };
  }
  if (flags.additionalGids.length) {
    const extra = flags.additionalGids.map((g) => parseId(g, "--additional-gids"));
    process.user = { uid: 0, gid: 0, ...process.user, additionalGids: [...(process.user?.additionalGids ?? []), ...extra] };
  }
  if (flags.caps.length) {
    for (const cap of flags.caps) if (!isCapabilityName(cap)) throw new BuncError("usage", `--cap: unknown capability ${JSON.stringify(cap)}`);
    const add = (set: string[] | undefined) => [...new Set([...(set ?? []), ...flags.caps])];
    const caps = process.capabilities ?? {};
    // Bounding, effective and permitted only: never inheritable (CVE-2022-29162).
    process.capabilities = { ...caps, bounding: add(caps.bounding), effective: add(caps.effective), permitted: add(caps.permitted) };
  }
  if (flags.noNewPrivs) process.noNewPrivileges = true;
  if (flags.apparmor) process.apparmorProfile = flags.apparmor;
  if (flags.processLabel) process.selinuxLabel = flags.processLabel;
  return process;
}
