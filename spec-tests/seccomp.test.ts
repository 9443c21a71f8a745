// config-linux.md, seccomp: the filter the container's process runs under, seen from inside
// (/proc/self/status, what busybox can and cannot do), the default profile `bunc spec`
// writes, each action and comparison operator, a profile that denies what the program needs,
// the notify listener handed to an agent at listenerPath, `bunc features`, and the configs
// bunc must refuse. Every container's /tmp is a tmpfs: the rootfs is read-only.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeFd, waitReadable } from "../ffi/io.ts";
import { defaultSeccompProfile } from "../src/linux/seccomp/default-profile.ts";
import { nativeArch } from "../src/linux/seccomp/tables/index.ts";
import {
  capMask,
  containerFixture,
  expectOk,
  expectRefused,
  nsLink,
  processesUsing,
  procStatus,
  stateOf,
  waitFor,
} from "./support/assertions.ts";
import type { BuncResult } from "./support/bunc.ts";
import { type Bundle, type BundleOptions, removeTree, type RuntimeConfig, TEMP_PREFIX } from "./support/bundle.ts";
import { answerNotification, nextNotification, SECCOMP_USER_NOTIF_FLAG_CONTINUE, SeccompAgent } from "./support/seccomp-agent.ts";

const fx = containerFixture();

type Seccomp = Record<string, unknown>;
type Rule = { names: string[]; action: string; errnoRet?: number; args?: { index: number; value: number; valueTwo?: number; op: string }[] };

const DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
const ADMIN_CAPS = [...DEFAULT_CAPS, "CAP_SYS_ADMIN"];
const SIGSYS = 31;

/** The native arch as runtime-spec names it, and what the kernel reports for it. */
const NATIVE = (
  {
    x64: { name: "SCMP_ARCH_X86_64", audit: 0xc000003e, mkdir: [83, 258] },
    arm64: { name: "SCMP_ARCH_AARCH64", audit: 0xc00000b7, mkdir: [34] },
  } as Record<string, { name: string; audit: number; mkdir: number[] }>
)[process.arch]!;

/** A bundle running `args` under `seccomp`, with a tmpfs on /tmp. */
function withSeccomp(seccomp: Seccomp | undefined, args: string[], more: BundleOptions = {}): BundleOptions {
  return {
    ...more,
    args,
    mutate: (c) => {
      c.mounts!.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777"] });
      if (seccomp) c.linux!.seccomp = structuredClone(seccomp);
      else delete c.linux!.seccomp;
      more.mutate?.(c);
    },
  };
}

/** Runs the bundle in the foreground; afterwards nothing of it may be left. */
function run(opts: BundleOptions, timeoutMs = 20_000): BuncResult {
  const b = fx.bundle(opts);
  const r = fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()], { timeoutMs });
  expect(r.timedOut).toBe(false);
  fx.rt.assertNoLeftovers();
  return r;
}

/** Runs `sh -c script` under `seccomp` and returns what it printed (exit 0, no stderr). */
const sh = (seccomp: Seccomp | undefined, script: string, more: BundleOptions = {}) =>
  expectOk(run(withSeccomp(seccomp, ["sh", "-c", script], more)));

const allowAllBut = (...syscalls: Rule[]): Seccomp => ({ defaultAction: "SCMP_ACT_ALLOW", syscalls });

const capabilities = (caps: string[]): BundleOptions => ({ config: { process: { capabilities: { bounding: caps, effective: caps, permitted: caps } } } });

/** `bunc spec`'s config.json, written into a fresh dir. */
function specConfig(): RuntimeConfig {
  const dir = mkdtempSync(join(tmpdir(), TEMP_PREFIX));
  try {
    expectOk(fx.rt.bunc(["spec", "--bundle", dir]));
    return JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  } finally {
    removeTree(dir);
  }
}

const specProfile = (): Seccomp => {
  const seccomp = specConfig().linux?.seccomp as Seccomp | undefined;
  expect(seccomp).toBeDefined();
  return seccomp!;
};

describe("the default profile of `bunc spec`", () => {
  test("denies with EPERM by default, covers the native arch family, and is the profile for the spec's capabilities", () => {
    const config = specConfig();
    const seccomp = config.linux!.seccomp as Seccomp & { architectures: string[]; syscalls: Rule[] };
    expect(seccomp.defaultAction).toBe("SCMP_ACT_ERRNO");
    expect(seccomp.defaultErrnoRet ?? 1).toBe(1);
    expect(seccomp.architectures).toContain(NATIVE.name);
    expect(seccomp.syscalls.length).toBeGreaterThan(0);
    expect(seccomp.listenerPath).toBeUndefined();
    expect(seccomp as Seccomp).toEqual(defaultSeccompProfile(nativeArch(), config.process.capabilities!.bounding!) as unknown as Seccomp);
  });

  test("the process runs under one filter: Seccomp: 2", () => {
    const s = procStatus(sh(specProfile(), "cat /proc/self/status"));
    expect(s.Seccomp).toBe("2");
    if (s.Seccomp_filters !== undefined) expect(s.Seccomp_filters).toBe("1");
    expect(s.NoNewPrivs).toBe("1");
  });

  test("comes compiled with the binary: nothing is compiled or cached for it; another profile is cached", () => {
    const cache = join(fx.rt.root, "@cache", "seccomp");
    const cached = () => (existsSync(cache) ? readdirSync(cache) : []);
    const before = cached();
    expect(procStatus(sh(specProfile(), "cat /proc/self/status")).Seccomp).toBe("2");
    expect(cached()).toEqual(before);
    const other = { ...specProfile(), defaultErrnoRet: 38 };
    expect(procStatus(sh(other, "cat /proc/self/status")).Seccomp).toBe("2");
    expect(cached().length).toBe(before.length + 1);
  });

  test("without linux.seccomp there is no filter", () => {
    expect(procStatus(sh(undefined, "cat /proc/self/status")).Seccomp).toBe("0");
  });

  test("ordinary commands work: ls, cat, echo, id, pipes, background jobs, ps, date, linux32", () => {
    const script = [
      "ls /",
      "cat /etc/group | wc -l",
      "echo hello > /tmp/f && cat /tmp/f",
      "mkdir /tmp/d && mv /tmp/f /tmp/d/g && ls /tmp/d && rm -r /tmp/d",
      "id",
      "sleep 0.05 & wait $! && echo waited",
      "ps -o comm | head -2",
      "date +%Y >/dev/null && echo dated",
      "linux32 uname -m", // personality(PER_LINUX32) is allowed
      "uname -m",
    ].join("; ");
    const out = sh(specProfile(), script).trimEnd().split("\n");
    expect(out.slice(0, 8)).toEqual(["bin", "dev", "etc", "home", "proc", "root", "sys", "tmp"]);
    expect(out.slice(8)).toEqual([
      "5",
      "hello",
      "g",
      "uid=0(root) gid=0(root)",
      "waited",
      "COMMAND",
      "sh", // PID 1
      "dated",
      process.arch === "x64" ? "i686" : expect.any(String),
      process.arch === "x64" ? "x86_64" : expect.any(String),
    ]);
  });

  test("unshare of a user namespace fails with EPERM, though it needs no capability", () => {
    const script = "unshare -U true; echo unshare=$?";
    // the control: without the filter an unprivileged unshare -U works
    expect(sh(undefined, script)).toBe("unshare=0\n");
    const r = run(withSeccomp(specProfile(), ["sh", "-c", script]));
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("unshare=1\n");
    expect(r.stderr).toContain("Operation not permitted");
  });

  test("mount and unshare are refused even with CAP_SYS_ADMIN when the profile was made without it", () => {
    const script = "mkdir /tmp/m; mount -t tmpfs x /tmp/m; echo mount=$?; unshare -U true; echo userns=$?; unshare -m true; echo mntns=$?";
    // the control: with CAP_SYS_ADMIN and no filter, all three work
    expect(sh(undefined, script, capabilities(ADMIN_CAPS))).toBe("mount=0\nuserns=0\nmntns=0\n");
    const r = run(withSeccomp(specProfile(), ["sh", "-c", script], capabilities(ADMIN_CAPS)));
    expect(r.stdout).toBe("mount=1\nuserns=1\nmntns=1\n");
    expect(r.stderr).toContain("unshare(0x10000000): Operation not permitted");
    expect(r.stderr).toContain("unshare(0x20000): Operation not permitted");
  });

  test("the profile for a container with CAP_SYS_ADMIN allows mount and unshare", () => {
    const profile = defaultSeccompProfile(nativeArch(), ADMIN_CAPS) as unknown as Seccomp;
    const script = "grep '^Seccomp:' /proc/self/status; mkdir /tmp/m; mount -t tmpfs x /tmp/m; echo mount=$?; unshare -U true; echo userns=$?; unshare -m true; echo mntns=$?";
    expect(sh(profile, script, capabilities(ADMIN_CAPS))).toBe("Seccomp:\t2\nmount=0\nuserns=0\nmntns=0\n");
  });

  test("mount fails without CAP_SYS_ADMIN, and the commands that need privileges are refused", () => {
    const r = run(withSeccomp(specProfile(), ["sh", "-c", "mkdir /tmp/m; mount -t tmpfs x /tmp/m; echo mount=$?; chroot / true; echo chroot=$?; nsenter -t 1 -u true; echo setns=$?"]));
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("mount=1\nchroot=1\nsetns=1\n");
  });

  test("with noNewPrivileges false the filter is installed before the credentials, which still apply", () => {
    const user = { uid: 1000, gid: 1000, additionalGids: [100], umask: 0o077 };
    const s = procStatus(sh(specProfile(), "cat /proc/self/status", { config: { process: { noNewPrivileges: false, user } } }));
    expect(s.Seccomp).toBe("2");
    expect(s.NoNewPrivs).toBe("0");
    expect(s.Uid!.split(/\s+/)).toEqual(["1000", "1000", "1000", "1000"]);
    expect(s.Groups!.trim()).toBe("100");
    expect(s.CapBnd).toBe(capMask(DEFAULT_CAPS));
    expect(s.CapEff).toBe(capMask([]));
    expect(s.Umask).toBe("0077");
  });
});

describe("actions", () => {
  // busybox mkdir runs in a child of sh: sh reports how it ended.
  const script = "mkdir /tmp/x; echo rc=$?; test -d /tmp/x && echo made || echo absent";
  const cases: { action: string; errnoRet?: number; out: string; err?: string }[] = [
    { action: "SCMP_ACT_ALLOW", out: "rc=0\nmade\n" },
    { action: "SCMP_ACT_LOG", out: "rc=0\nmade\n" },
    { action: "SCMP_ACT_ERRNO", out: "rc=1\nabsent\n", err: "Operation not permitted" }, // EPERM unless told
    { action: "SCMP_ACT_ERRNO", errnoRet: 1, out: "rc=1\nabsent\n", err: "Operation not permitted" },
    { action: "SCMP_ACT_ERRNO", errnoRet: 38, out: "rc=1\nabsent\n", err: "Function not implemented" },
    { action: "SCMP_ACT_ERRNO", errnoRet: 28, out: "rc=1\nabsent\n", err: "No space left on device" },
    { action: "SCMP_ACT_TRACE", out: "rc=1\nabsent\n", err: "Function not implemented" }, // no tracer: ENOSYS
    { action: "SCMP_ACT_TRAP", out: `rc=${128 + SIGSYS}\nabsent\n`, err: "Bad system call" },
    { action: "SCMP_ACT_KILL", out: `rc=${128 + SIGSYS}\nabsent\n` },
    { action: "SCMP_ACT_KILL_THREAD", out: `rc=${128 + SIGSYS}\nabsent\n` },
    { action: "SCMP_ACT_KILL_PROCESS", out: `rc=${128 + SIGSYS}\nabsent\n` },
  ];
  for (const c of cases) {
    test(`${c.action}${c.errnoRet === undefined ? "" : ` errnoRet ${c.errnoRet}`} on mkdir`, () => {
      const rule: Rule = { names: ["mkdir", "mkdirat"], action: c.action, ...(c.errnoRet === undefined ? {} : { errnoRet: c.errnoRet }) };
      const r = run(withSeccomp(allowAllBut(rule), ["sh", "-c", script]));
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toBe(c.out);
      if (c.err) expect(r.stderr).toContain(c.err);
    });
  }

  test("the process killed by SCMP_ACT_KILL_PROCESS: run exits with 128+SIGSYS", () => {
    const r = run(withSeccomp(allowAllBut({ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_KILL_PROCESS" }), ["mkdir", "/tmp/x"]));
    expect(r.exitCode).toBe(128 + SIGSYS);
  });

  test("defaultErrnoRet sets the errno of the default action", () => {
    const seccomp = {
      defaultAction: "SCMP_ACT_ERRNO",
      defaultErrnoRet: 38,
      // everything busybox sh and mkdir need but mkdir itself
      syscalls: [{ names: shellSyscalls(), action: "SCMP_ACT_ALLOW" }],
    };
    const r = run(withSeccomp(seccomp, ["sh", "-c", script]));
    expect(r.stdout).toBe("rc=1\nabsent\n");
    expect(r.stderr).toContain("Function not implemented");
  });

  test("the first rule without args wins; a later one for the same syscall changes nothing", () => {
    const r = run(
      withSeccomp(
        allowAllBut(
          { names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 38 },
          { names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 },
        ),
        ["sh", "-c", script],
      ),
    );
    expect(r.stdout).toBe("rc=1\nabsent\n");
    expect(r.stderr).toContain("Function not implemented");
  });
});

/** What busybox sh, echo, test and mkdir call on x86_64 and aarch64 (glibc, static). */
function shellSyscalls(): string[] {
  return [
    "execve", "exit", "exit_group", "brk", "mmap", "munmap", "mprotect", "arch_prctl", "set_tid_address",
    "set_robust_list", "rseq", "prlimit64", "uname", "readlink", "readlinkat", "getrandom",
    "getpid", "getppid", "getuid", "geteuid", "getgid", "getegid", "getcwd", "sysinfo",
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "fork", "vfork", "clone", "clone3", "wait4",
    "open", "openat", "close", "read", "write", "lseek", "fcntl", "dup2", "dup3", "ioctl",
    "stat", "lstat", "fstat", "newfstatat", "statx", "access", "faccessat", "faccessat2",
  ];
}

describe("argument conditions", () => {
  // ash's umask builtin reads the mask with umask(0) and sets it with umask(mask), ignoring
  // umask's result: a refused umask(077) leaves 0022 in place.
  const script = "umask 077; umask; umask 027; umask";
  const umaskRule = (op: string, value: number, valueTwo?: number): Rule => ({
    names: ["umask"],
    action: "SCMP_ACT_ERRNO",
    args: [{ index: 0, op, value, ...(valueTwo === undefined ? {} : { valueTwo }) }],
  });
  const cases: [string, Rule][] = [
    ["SCMP_CMP_EQ 077", umaskRule("SCMP_CMP_EQ", 0o77)],
    ["SCMP_CMP_GE 070", umaskRule("SCMP_CMP_GE", 0o70)],
    ["SCMP_CMP_GT 027", umaskRule("SCMP_CMP_GT", 0o27)],
    ["SCMP_CMP_MASKED_EQ 070 070", umaskRule("SCMP_CMP_MASKED_EQ", 0o70, 0o70)],
  ];
  for (const [name, rule] of cases) {
    test(`umask with ${name}: umask 077 is refused, umask 027 is not`, () => {
      expect(sh(allowAllBut(rule), script)).toBe("0022\n0027\n");
    });
  }

  test("SCMP_CMP_EQ with a value that matches nothing refuses nothing", () => {
    expect(sh(allowAllBut(umaskRule("SCMP_CMP_EQ", 0o123)), script)).toBe("0077\n0027\n");
  });

  // kill(pid, sig) from busybox's kill builtin: signal 0 only checks, SIGCONT (18) to the
  // shell itself does nothing visible.
  const killRule = (op: string, value: number): Rule => ({ names: ["kill"], action: "SCMP_ACT_ERRNO", args: [{ index: 1, op, value }] });
  const killCases: [string, Rule, string][] = [
    ["SCMP_CMP_LT 1", killRule("SCMP_CMP_LT", 1), "zero=1\ncont=0\n"],
    ["SCMP_CMP_LE 0", killRule("SCMP_CMP_LE", 0), "zero=1\ncont=0\n"],
    ["SCMP_CMP_NE 18", killRule("SCMP_CMP_NE", 18), "zero=1\ncont=0\n"],
    ["SCMP_CMP_GE 18", killRule("SCMP_CMP_GE", 18), "zero=0\ncont=1\n"],
    ["SCMP_CMP_GT 17", killRule("SCMP_CMP_GT", 17), "zero=0\ncont=1\n"],
    ["SCMP_CMP_EQ 18", killRule("SCMP_CMP_EQ", 18), "zero=0\ncont=1\n"],
  ];
  for (const [name, rule, out] of killCases) {
    test(`kill with ${name} on the signal`, () => {
      const r = run(withSeccomp(allowAllBut(rule), ["sh", "-c", "kill -0 $$; echo zero=$?; kill -CONT $$; echo cont=$?"]));
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toBe(out);
      expect(r.stderr).toContain("Operation not permitted");
    });
  }

  test("SCMP_CMP_MASKED_EQ on open flags: creating files is refused, reading is not", () => {
    const O_CREAT = 0o100;
    const creating = (names: string[], index: number): Rule => ({
      names,
      action: "SCMP_ACT_ERRNO",
      errnoRet: 13,
      args: [{ index, op: "SCMP_CMP_MASKED_EQ", value: O_CREAT, valueTwo: O_CREAT }],
    });
    const seccomp = allowAllBut(creating(["open"], 1), creating(["openat"], 2), { names: ["creat"], action: "SCMP_ACT_ERRNO", errnoRet: 13 });
    const r = run(withSeccomp(seccomp, ["sh", "-c", "echo x > /tmp/f; echo write=$?; head -1 /etc/passwd; echo read=$?; ls -A /tmp"]));
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("write=1\nroot:x:0:0:root:/root:/bin/sh\nread=0\n");
    expect(r.stderr).toContain("can't create /tmp/f: Permission denied");
  });

  test("the conditions of one rule must all hold", () => {
    // mkdir(path, 0777): arg1 is the mode; mkdirat(AT_FDCWD, path, 0777): arg2.
    const rules = (second: (pathIndex: number) => Rule["args"]): Seccomp =>
      allowAllBut(
        { names: ["mkdir"], action: "SCMP_ACT_ERRNO", args: [{ index: 1, op: "SCMP_CMP_EQ", value: 0o777 }, ...second(0)!] },
        { names: ["mkdirat"], action: "SCMP_ACT_ERRNO", args: [{ index: 2, op: "SCMP_CMP_EQ", value: 0o777 }, ...second(1)!] },
      );
    const script = "mkdir /tmp/x && echo made || echo refused";
    // the path pointer is never 12345: the rule never matches
    expect(sh(rules((i) => [{ index: i, op: "SCMP_CMP_EQ", value: 12345 }]), script)).toBe("made\n");
    // and it is never NULL: both hold
    const r = run(withSeccomp(rules((i) => [{ index: i, op: "SCMP_CMP_NE", value: 0 }]), ["sh", "-c", script]));
    expect(r.stdout).toBe("refused\n");
    expect(r.stderr).toContain("Operation not permitted");
  });
});

describe("names and architectures", () => {
  test("a syscall name no table knows is skipped; the other names of the rule still apply", () => {
    const seccomp = allowAllBut({ names: ["no_such_syscall", "mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 38 });
    const r = run(withSeccomp(seccomp, ["sh", "-c", "mkdir /tmp/x; echo rc=$?"]));
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("rc=1\n");
    expect(r.stderr).toContain("Function not implemented");
  });

  test("the native arch is filtered even when architectures does not list it", () => {
    const other = process.arch === "x64" ? "SCMP_ARCH_X86" : "SCMP_ARCH_ARM";
    const seccomp = { ...allowAllBut({ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 38 }), architectures: [other] };
    const r = run(withSeccomp(seccomp, ["sh", "-c", "mkdir /tmp/x; echo rc=$?"]));
    expect(r.stdout).toBe("rc=1\n");
    expect(r.stderr).toContain("Function not implemented");
  });

  test("known flags are accepted and the filter applies", () => {
    const flags = ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"];
    const seccomp = { ...allowAllBut({ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 38 }), flags };
    const r = run(withSeccomp(seccomp, ["sh", "-c", "grep '^Seccomp:' /proc/self/status; mkdir /tmp/x; echo rc=$?"]));
    expect(r.stdout).toBe("Seccomp:\t2\nrc=1\n");
  });
});

describe("a deny-by-default profile that lacks what the program needs", () => {
  // execve itself is refused, and with it everything a runtime might use to report that.
  const cases: [string, Seccomp][] = [
    ["SCMP_ACT_ERRNO with no rules", { defaultAction: "SCMP_ACT_ERRNO" }],
    ["SCMP_ACT_ERRNO allowing only execve", { defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["execve"], action: "SCMP_ACT_ALLOW" }] }],
    ["SCMP_ACT_KILL_PROCESS with no rules", { defaultAction: "SCMP_ACT_KILL_PROCESS" }],
  ];
  for (const [name, seccomp] of cases) {
    test(`${name}: run fails quickly, nothing is left`, () => {
      const started = Date.now();
      const r = run(withSeccomp(seccomp, ["sh", "-c", "echo must not print"]));
      expect(r.exitCode).not.toBe(0);
      expect(r.exitCode).not.toBeNull();
      expect(r.stdout).toBe("");
      expect(Date.now() - started).toBeLessThan(10_000);
    });
  }

  test("a shell allowed all but open: it starts, and the file it cannot open fails with EPERM", () => {
    const seccomp = { defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: shellSyscalls().filter((n) => n !== "open" && n !== "openat"), action: "SCMP_ACT_ALLOW" }] };
    const r = run(withSeccomp(seccomp, ["sh", "-c", "echo started; cat /etc/passwd; echo cat=$?; exit 3"]));
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toBe("started\ncat=1\n");
    expect(r.stderr).toContain("can't open '/etc/passwd': Operation not permitted");
  });

  test("create and start: the container stops, state says so, delete cleans up", () => {
    const b = fx.bundle(withSeccomp({ defaultAction: "SCMP_ACT_ERRNO" }, ["sh", "-c", "echo must not print"]));
    const id = fx.rt.id();
    expectOk(fx.rt.bunc(["create", "--bundle", b.dir, id]));
    const r = fx.rt.bunc(["start", id]);
    expect(r.timedOut).toBe(false);
    waitFor(() => stateOf(fx.rt.bunc(["state", id])).status === "stopped", "the container to stop");
    expectOk(fx.rt.bunc(["delete", id]));
    fx.rt.assertNoLeftovers();
    expect(readFileSync(r.stdoutFile, "utf8")).not.toContain("must not print");
  });
});

describe("SCMP_ACT_NOTIFY and listenerPath", () => {
  const notifyMkdir = (listenerPath: string, extra: Seccomp = {}): Seccomp => ({
    defaultAction: "SCMP_ACT_ALLOW",
    listenerPath,
    syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY" }],
    ...extra,
  });

  /** Waits for a process started with rt.spawn, SIGKILLing it after `timeoutMs`. */
  async function exited(proc: ReturnType<typeof fx.rt.spawn>, timeoutMs = 10_000) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const code = await Promise.race([proc.exited, timeout]);
    clearTimeout(timer);
    if (code === "timeout") {
      proc.kill("SIGKILL");
      await proc.exited;
      throw new Error(`bunc did not finish within ${timeoutMs} ms`);
    }
    const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    return { code, stdout, stderr };
  }

  test("the agent gets the container's state and the listener; closing it fails the syscall with ENOSYS", async () => {
    const path = join(fx.rt.base, "agent.sock");
    const agent = new SeccompAgent(path);
    let listener: number | undefined;
    try {
      const b = fx.bundle(
        withSeccomp(notifyMkdir(path, { listenerMetadata: "the metadata" }), ["sh", "-c", "mkdir /tmp/x; echo rc=$?; test -d /tmp/x && echo made || echo absent"], {
          config: { annotations: { "org.example.key": "value" } },
        }),
      );
      const id = fx.rt.id();
      const proc = fx.rt.spawn(["run", "--bundle", b.dir, id]);
      try {
        const { message, fds } = agent.receive(10_000);
        listener = fds[0];
        expect(fds.length).toBe(1);
        expect(readlinkSync(`/proc/self/fd/${listener}`)).toBe("anon_inode:seccomp notify");
        // the container's mkdir now waits for an answer
        expect(waitReadable(listener!, 10_000)).toBe(true);
        const state = stateOf(fx.rt.bunc(["state", id])) as ReturnType<typeof stateOf> & { ociVersion: string };
        // ociVersion: the spec version the state complies with, as `state` reports it
        expect(message).toEqual({
          ociVersion: state.ociVersion,
          fds: ["seccompFd"],
          pid: state.pid,
          metadata: "the metadata",
          state: expect.objectContaining({ ociVersion: state.ociVersion, id, pid: state.pid, bundle: b.dir, annotations: { "org.example.key": "value" } }),
        });
        expect(["creating", "created", "running"]).toContain(message.state.status);
        expect(agent.pending()).toBe(false); // one connection, one message
      } finally {
        if (listener !== undefined) closeFd(listener);
        listener = undefined;
      }
      const r = await exited(proc);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe("rc=1\nabsent\n");
      expect(r.stderr).toContain("Function not implemented");
      fx.rt.assertNoLeftovers();
    } finally {
      if (listener !== undefined) closeFd(listener);
      agent.close();
    }
  });

  test("the agent answers notifications: an errno, continue, a success that did nothing", async () => {
    const path = join(fx.rt.base, "agent.sock");
    const agent = new SeccompAgent(path);
    let listener: number | undefined;
    try {
      const script = "mkdir /tmp/a; echo a=$?; mkdir /tmp/b; echo b=$?; mkdir /tmp/c; echo c=$?; ls /tmp";
      const b = fx.bundle(withSeccomp(notifyMkdir(path), ["sh", "-c", script]));
      const id = fx.rt.id();
      const proc = fx.rt.spawn(["run", "--bundle", b.dir, id]);
      try {
        const { message, fds } = agent.receive(10_000);
        listener = fds[0]!;
        expect(message.metadata ?? "").toBe("");
        const answers = [{ error: -95 /* EOPNOTSUPP */ }, { flags: SECCOMP_USER_NOTIF_FLAG_CONTINUE }, { val: 0 }];
        for (const answer of answers) {
          const n = nextNotification(listener, 10_000);
          expect(n.arch).toBe(NATIVE.audit);
          expect(NATIVE.mkdir).toContain(n.nr);
          // mkdir(path, 0777) or mkdirat(AT_FDCWD, path, 0777)
          expect(n.args[process.arch === "x64" && n.nr === 83 ? 1 : 2]).toBe(0o777n);
          // the caller (a child of the container's sh) is in the container's pid namespace
          expect(nsLink(n.pid, "pid")).toBe(nsLink(message.pid, "pid"));
          answerNotification(listener, n.id, answer);
        }
      } finally {
        if (listener !== undefined) closeFd(listener);
        listener = undefined;
      }
      const r = await exited(proc);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe("a=1\nb=0\nc=0\nb\n");
      expect(r.stderr).toContain("can't create directory '/tmp/a': Operation not supported");
      fx.rt.assertNoLeftovers();
    } finally {
      if (listener !== undefined) closeFd(listener);
      agent.close();
    }
  });

  test("with noNewPrivileges false the agent gets the listener too", async () => {
    const path = join(fx.rt.base, "agent.sock");
    const agent = new SeccompAgent(path);
    let listener: number | undefined;
    try {
      const b = fx.bundle(withSeccomp(notifyMkdir(path), ["sh", "-c", "id -u; mkdir /tmp/x; echo rc=$?"], { config: { process: { noNewPrivileges: false, user: { uid: 1000, gid: 1000 } } } }));
      const proc = fx.rt.spawn(["run", "--bundle", b.dir, fx.rt.id()]);
      try {
        listener = agent.receive(10_000).fds[0]!;
        const n = nextNotification(listener, 10_000);
        answerNotification(listener, n.id, { error: -13 });
      } finally {
        if (listener !== undefined) closeFd(listener);
        listener = undefined;
      }
      const r = await exited(proc);
      expect(r.stdout).toBe("1000\nrc=1\n");
      expect(r.stderr).toContain("Permission denied");
      fx.rt.assertNoLeftovers();
    } finally {
      if (listener !== undefined) closeFd(listener);
      agent.close();
    }
  });

  test("NOTIFY on close and execve: the agent lets the runtime's last calls through and the container runs", async () => {
    const path = join(fx.rt.base, "agent.sock");
    const agent = new SeccompAgent(path);
    let listener: number | undefined;
    const seen = new Set<number>();
    try {
      const seccomp = { defaultAction: "SCMP_ACT_ALLOW", listenerPath: path, syscalls: [{ names: ["close", "execve"], action: "SCMP_ACT_NOTIFY" }] };
      const b = fx.bundle(withSeccomp(seccomp, ["sh", "-c", "echo hi; head -1 /etc/group"]));
      const proc = fx.rt.spawn(["run", "--bundle", b.dir, fx.rt.id()]);
      try {
        listener = agent.receive(10_000).fds[0]!;
        // answer until the container is gone: the listener then hangs up and RECV fails
        for (;;) {
          if (!waitReadable(listener, 2_000)) break;
          let n;
          try {
            n = nextNotification(listener, 0);
          } catch {
            break;
          }
          seen.add(n.nr);
          try {
            answerNotification(listener, n.id, { flags: SECCOMP_USER_NOTIF_FLAG_CONTINUE });
          } catch {
            // the caller was killed meanwhile
          }
        }
      } finally {
        if (listener !== undefined) closeFd(listener);
        listener = undefined;
      }
      const r = await exited(proc);
      expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: "hi\nroot:x:0:\n", stderr: "" });
      const EXECVE = process.arch === "x64" ? 59 : 221;
      expect(seen.has(EXECVE)).toBe(true);
      fx.rt.assertNoLeftovers();
    } finally {
      if (listener !== undefined) closeFd(listener);
      agent.close();
    }
  });

  // The listener is handed over with sendmsg once the filter is in place (runc refuses NOTIFY
  // on write, its own hand-over call, for the same reason). A notified sendmsg waits for an
  // agent that can only answer once it has received the listener: bunc must refuse the
  // profile (or hand the listener over some other way), not wait forever.
  test("NOTIFY on sendmsg, which hands the listener over, does not hang the container", () => {
    const path = join(fx.rt.base, "agent.sock");
    const agent = new SeccompAgent(path);
    try {
      const seccomp = { defaultAction: "SCMP_ACT_ALLOW", listenerPath: path, syscalls: [{ names: ["sendmsg"], action: "SCMP_ACT_NOTIFY" }] };
      const b = fx.bundle(withSeccomp(seccomp, ["true"]));
      const id = fx.rt.id();
      const r = fx.rt.bunc(["run", "--bundle", b.dir, id], { timeoutMs: 10_000 });
      expect(r.timedOut).toBe(false);
      if (r.exitCode !== 0) expectRefused(r, "linux.seccomp.syscalls[0]", "sendmsg");
    } finally {
      agent.close();
    }
  });

  test("nothing listening at listenerPath: create fails naming it, nothing is left", () => {
    const path = join(fx.rt.base, "no-agent.sock");
    const b = fx.bundle(withSeccomp(notifyMkdir(path), ["true"]));
    const id = fx.rt.id();
    expectRefused(fx.rt.bunc(["create", "--bundle", b.dir, id]), path, "linux.seccomp.listenerPath");
    expectNothingLeft(b, id);
  });
});

describe("bunc features", () => {
  test("lists seccomp as enabled with every action, operator, the native arch and the flags", () => {
    const features = JSON.parse(expectOk(fx.rt.bunc(["features"])));
    const seccomp = features.linux.seccomp;
    expect(seccomp.enabled).toBe(true);
    expect(seccomp.actions).toEqual(
      expect.arrayContaining([
        "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
        "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
      ]),
    );
    expect(seccomp.operators).toEqual(
      expect.arrayContaining(["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"]),
    );
    expect(seccomp.archs).toContain(NATIVE.name);
    expect(seccomp.archs).toContain(process.arch === "x64" ? "SCMP_ARCH_X86" : "SCMP_ARCH_ARM");
    expect(seccomp.knownFlags).toEqual(expect.arrayContaining(["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]));
    for (const flag of seccomp.supportedFlags) expect(seccomp.knownFlags).toContain(flag);
  });
});

/** Nothing of a refused container survives: no state, no mount, no process. */
function expectNothingLeft(b: Bundle, id: string) {
  expectRefused(fx.rt.bunc(["state", id]), id);
  fx.rt.assertNoLeftovers();
  const deadline = Date.now() + 5_000;
  let stray = processesUsing([fx.rt.base, b.dir]);
  while (stray.length > 0 && Date.now() < deadline) {
    Bun.sleepSync(20);
    stray = processesUsing([fx.rt.base, b.dir]);
  }
  expect(stray).toEqual([]);
}

describe.each(["create", "run"])("%s refuses", (command) => {
  const mkdirRule = (rule: Partial<Rule> & Record<string, unknown>) => ({ names: ["mkdir"], action: "SCMP_ACT_ERRNO", ...rule });
  const cases: { name: string; seccomp: Seccomp; names: string[] }[] = [
    { name: "a missing defaultAction", seccomp: { syscalls: [mkdirRule({})] }, names: ["linux.seccomp.defaultAction"] },
    { name: "an unknown defaultAction", seccomp: { defaultAction: "SCMP_ACT_NOPE" }, names: ["linux.seccomp.defaultAction", "SCMP_ACT_NOPE"] },
    {
      name: "an unknown action in a rule",
      seccomp: { defaultAction: "SCMP_ACT_ALLOW", syscalls: [mkdirRule({}), mkdirRule({ action: "SCMP_ACT_NOPE" })] },
      names: ["linux.seccomp.syscalls[1].action", "SCMP_ACT_NOPE"],
    },
    {
      name: "an unknown architecture",
      seccomp: { defaultAction: "SCMP_ACT_ALLOW", architectures: [NATIVE.name, "SCMP_ARCH_NOPE"] },
      names: ["linux.seccomp.architectures[1]", "SCMP_ARCH_NOPE"],
    },
    {
      name: "SCMP_ACT_NOTIFY as the defaultAction",
      seccomp: { defaultAction: "SCMP_ACT_NOTIFY", listenerPath: "/run/no-such-agent.sock" },
      names: ["linux.seccomp.defaultAction", "SCMP_ACT_NOTIFY"],
    },
    {
      name: "an unknown flag",
      seccomp: { defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_NOPE"] },
      names: ["linux.seccomp.flags[1]", "SECCOMP_FILTER_FLAG_NOPE"],
    },
    {
      name: "an unknown operator",
      seccomp: { defaultAction: "SCMP_ACT_ALLOW", syscalls: [mkdirRule({ args: [{ index: 1, value: 1, op: "SCMP_CMP_NOPE" }] })] },
      names: ["linux.seccomp.syscalls[0].args[0].op", "SCMP_CMP_NOPE"],
    },
    {
      name: "an argument index past 5",
      seccomp: { defaultAction: "SCMP_ACT_ALLOW", syscalls: [mkdirRule({ args: [{ index: 6, value: 1, op: "SCMP_CMP_EQ" }] })] },
      names: ["linux.seccomp.syscalls[0].args[0].index"],
    },
    {
      name: "a rule without names",
      seccomp: { defaultAction: "SCMP_ACT_ALLOW", syscalls: [mkdirRule({ names: [] })] },
      names: ["linux.seccomp.syscalls[0].names"],
    },
    {
      name: "errnoRet on an action that returns no errno",
      seccomp: { defaultAction: "SCMP_ACT_ALLOW", syscalls: [mkdirRule({ action: "SCMP_ACT_KILL_PROCESS", errnoRet: 5 })] },
      names: ["linux.seccomp.syscalls[0].errnoRet"],
    },
    {
      name: "an errnoRet that does not fit in SECCOMP_RET_DATA",
      seccomp: { defaultAction: "SCMP_ACT_ALLOW", syscalls: [mkdirRule({ errnoRet: 70000 })] },
      names: ["linux.seccomp.syscalls[0].errnoRet", "70000"],
    },
    {
      name: "SCMP_ACT_NOTIFY without listenerPath",
      seccomp: { defaultAction: "SCMP_ACT_ALLOW", syscalls: [mkdirRule({ action: "SCMP_ACT_NOTIFY" })] },
      names: ["linux.seccomp.listenerPath"],
    },
    {
      name: "a syscall name that is not a string",
      seccomp: { defaultAction: "SCMP_ACT_ALLOW", syscalls: [mkdirRule({ names: ["mkdir", 83] as unknown as string[] })] },
      names: ["linux.seccomp.syscalls[0].names", "must be a list of strings"],
    },
    {
      name: "listenerMetadata without listenerPath",
      seccomp: { defaultAction: "SCMP_ACT_ALLOW", listenerMetadata: "x" },
      names: ["linux.seccomp.listenerMetadata"],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const b = fx.bundle(withSeccomp(c.seccomp, ["sh", "-c", "echo must not run"]));
      const id = fx.rt.id();
      const r = fx.rt.bunc([command, "--bundle", b.dir, id]);
      expectRefused(r, ...c.names);
      expect(r.stdout).not.toContain("must not run");
      expectNothingLeft(b, id);
    });
  }
});
