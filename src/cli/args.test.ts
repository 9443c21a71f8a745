import { describe, expect, test } from "bun:test";
import { BuncError } from "../errors.ts";
import { boolOption, intOption, listOption, parseArgs, stringOption, usageText } from "./args.ts";
import { COMMANDS } from "./commands-table.ts";

const p = (...argv: string[]) => parseArgs(argv);

function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BuncError);
    expect((err as BuncError).code).toBe("usage");
    return (err as BuncError).message;
  }
  throw new Error("expected a usage error");
}

describe("global options", () => {
  test("defaults", () => {
    const r = p();
    expect(r.command).toBeUndefined();
    expect(r.positionals).toEqual([]);
    expect(r.options).toEqual({});
    expect(r.global).toEqual({
      root: "/run/bunc",
      store: "/var/lib/bunc",
      logFormat: "text",
      debug: false,
      systemdCgroup: false,
      rootless: "auto",
      help: false,
      version: false,
    });
  });

  test("every flag, in each syntax", () => {
    const r = p("--root", "/r", "--store=/s", "-log=/l", "--log-format", "json", "-debug", "--systemd-cgroup", "--rootless=true", "state", "c");
    expect(r.global).toEqual({
      root: "/r",
      store: "/s",
      log: "/l",
      logFormat: "json",
      debug: true,
      systemdCgroup: true,
      rootless: "true",
      help: false,
      version: false,
    });
    expect(p("-root", "/x", "list").global.root).toBe("/x");
    expect(p("--root=/y", "list").global.root).toBe("/y");
    expect(p("-root=/z", "list").global.root).toBe("/z");
    expect(p("--rootless", "false", "list").global.rootless).toBe("false");
  });

  test("help and version, long and short", () => {
    expect(p("--help").global.help).toBe(true);
    expect(p("-h").global.help).toBe(true);
    expect(p("--version").global.version).toBe(true);
    expect(p("-v").global.version).toBe(true);
    expect(p("-version").global.version).toBe(true);
  });

  test("booleans accept =true and =false", () => {
    expect(p("--debug=true", "list").global.debug).toBe(true);
    expect(p("--debug=false", "list").global.debug).toBe(false);
    expect(p("--debug", "--debug=0", "list").global.debug).toBe(false);
    expect(p("--systemd-cgroup=1", "list").global.systemdCgroup).toBe(true);
    expect(usageError(() => p("--debug=yes", "list"))).toBe('flag --debug takes true or false, got "yes"');
    expect(usageError(() => p("--debug=", "list"))).toBe('flag --debug takes true or false, got ""');
  });

  test("a boolean does not eat the next argument", () => {
    const r = p("--debug", "state", "c");
    expect(r.command).toBe("state");
    expect(r.positionals).toEqual(["c"]);
  });

  test("choices are checked", () => {
    expect(usageError(() => p("--log-format", "xml", "list"))).toBe('flag --log-format must be one of text, json, got "xml"');
    expect(usageError(() => p("--rootless=maybe", "list"))).toBe('flag --rootless must be one of true, false, auto, got "maybe"');
  });

  test("global flags also work after the command", () => {
    const r = p("state", "--root", "/r", "c", "--debug", "--log-format=json");
    expect(r.global.root).toBe("/r");
    expect(r.global.debug).toBe(true);
    expect(r.global.logFormat).toBe("json");
    expect(r.options).toEqual({});
    expect(r.positionals).toEqual(["c"]);
  });

  test("a command's own flag shadows a global one", () => {
    const r = p("spec", "--rootless");
    expect(r.options.rootless).toBe(true);
    expect(r.global.rootless).toBe("auto");
  });

  test("version is not accepted after the command", () => {
    expect(usageError(() => p("list", "-v"))).toBe('unknown flag -v for "list"');
  });

  test("errors", () => {
    expect(usageError(() => p("--foo"))).toBe("unknown flag --foo");
    expect(usageError(() => p("--foo=1", "list"))).toBe("unknown flag --foo");
    expect(usageError(() => p("--root"))).toBe("flag --root needs a value");
    expect(usageError(() => p("foo"))).toBe('unknown command "foo"');
    expect(usageError(() => p("--debug", "foo", "x"))).toBe('unknown command "foo"');
    expect(usageError(() => p("-1"))).toBe('unknown command "-1"');
    expect(usageError(() => p(""))).toBe('unknown command ""');
  });

  test("-- ends global flags; the command follows", () => {
    const r = p("--debug", "--", "state", "c");
    expect(r.command).toBe("state");
    expect(r.global.debug).toBe(true);
    expect(p("--").command).toBeUndefined();
  });
});

describe("create and run", () => {
  test("all create flags", () => {
    const r = p(
      "create",
      "--bundle",
      "/b",
      "--pid-file=/p",
      "--console-socket",
      "/s",
      "--pidfd-socket",
      "/fd",
      "--preserve-fds",
      "3",
      "--no-pivot",
      "--no-new-keyring",
      "c1",
    );
    expect(r.command).toBe("create");
    expect(r.positionals).toEqual(["c1"]);
    expect(r.options).toEqual({
      bundle: "/b",
      "pid-file": "/p",
      "console-socket": "/s",
      "pidfd-socket": "/fd",
      "preserve-fds": "3",
      "no-pivot": true,
      "no-new-keyring": true,
    });
  });

  test("every spelling of the bundle flag", () => {
    for (const argv of [
      ["-b", "/b", "c"],
      ["-b=/b", "c"],
      ["--b", "/b", "c"],
      ["--bundle", "/b", "c"],
      ["--bundle=/b", "c"],
      ["-bundle", "/b", "c"],
      ["-bundle=/b", "c"],
      ["c", "-b", "/b"],
    ]) {
      const r = p("create", ...argv);
      expect(r.options.bundle).toBe("/b");
      expect(r.positionals).toEqual(["c"]);
    }
  });

  test("= splits at the first equals sign and allows empty values", () => {
    expect(p("create", "--bundle=a=b", "c").options.bundle).toBe("a=b");
    expect(p("create", "--bundle=", "c").options.bundle).toBe("");
  });

  test("a value may start with a dash", () => {
    expect(p("create", "--pid-file", "-x", "c").options["pid-file"]).toBe("-x");
  });

  test("the last of a repeated single-value flag wins", () => {
    expect(p("create", "-b", "/1", "-b", "/2", "c").options.bundle).toBe("/2");
  });

  test("run flags", () => {
    const r = p("run", "-d", "--keep", "--no-subreaper", "-b", "/b", "c");
    expect(r.options).toEqual({ detach: true, keep: true, "no-subreaper": true, bundle: "/b" });
    expect(p("run", "--detach=false", "c").options.detach).toBe(false);
    expect(p("run", "-detach", "c").options.detach).toBe(true);
  });

  test("-- makes a dash-led id possible", () => {
    expect(p("create", "--", "-odd").positionals).toEqual(["-odd"]);
    expect(p("create", "-b", "/b", "--", "--bundle").positionals).toEqual(["--bundle"]);
  });

  test("a lone dash and -<digit> are arguments", () => {
    expect(p("create", "-").positionals).toEqual(["-"]);
    expect(p("create", "-1").positionals).toEqual(["-1"]);
  });

  test("errors", () => {
    expect(usageError(() => p("create", "--foo", "c"))).toBe('unknown flag --foo for "create"');
    expect(usageError(() => p("create", "-foo=1", "c"))).toBe('unknown flag -foo for "create"');
    expect(usageError(() => p("create", "-dt", "c"))).toBe('unknown flag -dt for "create"');
    expect(usageError(() => p("create", "--detach", "c"))).toBe('unknown flag --detach for "create"');
    expect(usageError(() => p("create", "c", "--bundle"))).toBe("flag --bundle needs a value");
    expect(usageError(() => p("create", "c", "-b"))).toBe("flag --bundle needs a value");
    expect(usageError(() => p("create"))).toBe('"create" requires exactly 1 argument (the container id)');
    expect(usageError(() => p("create", "a", "b"))).toBe('"create" requires exactly 1 argument (the container id)');
    expect(usageError(() => p("run", "--no-pivot=nope", "c"))).toBe('flag --no-pivot takes true or false, got "nope"');
  });
});

describe("single-id commands", () => {
  for (const cmd of ["start", "state", "pause", "resume", "delete", "events", "update"]) {
    test(cmd, () => {
      const r = p(cmd, "c");
      expect(r.command).toBe(cmd);
      expect(r.positionals).toEqual(["c"]);
      expect(usageError(() => p(cmd))).toBe(`"${cmd}" requires exactly 1 argument (the container id)`);
      expect(usageError(() => p(cmd, "a", "b"))).toBe(`"${cmd}" requires exactly 1 argument (the container id)`);
    });
  }

  test("delete --force / -f", () => {
    expect(p("delete", "-f", "c").options.force).toBe(true);
    expect(p("delete", "--force", "c").options.force).toBe(true);
    expect(p("delete", "c").options.force).toBeUndefined();
  });

  test("events", () => {
    expect(p("events", "c").options).toEqual({ interval: "5s" });
    expect(p("events", "--stats", "--interval", "1s", "c").options).toEqual({ stats: true, interval: "1s" });
  });

  test("update takes every resource flag as a string", () => {
    const names = [
      "memory",
      "memory-swap",
      "memory-reservation",
      "kernel-memory",
      "kernel-memory-tcp",
      "cpu-share",
      "cpu-quota",
      "cpu-period",
      "cpu-burst",
      "cpu-idle",
      "cpu-rt-runtime",
      "cpu-rt-period",
      "cpuset-cpus",
      "cpuset-mems",
      "pids-limit",
      "blkio-weight",
      "l3-cache-schema",
      "mem-bw-schema",
      "resources",
    ];
    const argv = names.flatMap((n, i) => [`--${n}`, `v${i}`]);
    const r = p("update", ...argv, "c");
    expect(r.options).toEqual(Object.fromEntries(names.map((n, i) => [n, `v${i}`])));
    expect(p("update", "-r", "-", "c").options.resources).toBe("-");
    // The plural spelling lands on runc's singular key.
    expect(p("update", "--cpu-shares", "512", "c").options).toEqual({ "cpu-share": "512" });
  });
});

describe("kill", () => {
  test("id and optional signal", () => {
    expect(p("kill", "c").positionals).toEqual(["c"]);
    expect(p("kill", "c", "KILL").positionals).toEqual(["c", "KILL"]);
    expect(p("kill", "-a", "c", "9").options.all).toBe(true);
    expect(p("kill", "--all", "c").options.all).toBe(true);
  });

  test("after the id nothing is a flag", () => {
    expect(p("kill", "c", "-9").positionals).toEqual(["c", "-9"]);
    expect(p("kill", "c", "--all").positionals).toEqual(["c", "--all"]);
  });

  test("errors", () => {
    expect(usageError(() => p("kill"))).toBe('"kill" requires at least 1 argument (the container id and an optional signal)');
    expect(usageError(() => p("kill", "c", "TERM", "x"))).toBe(
      '"kill" takes at most 2 arguments (the container id and an optional signal)',
    );
  });
});

describe("list, spec, features, ps, help", () => {
  test("list", () => {
    expect(p("list").options).toEqual({ format: "table" });
    expect(p("list", "-f", "json", "-q").options).toEqual({ format: "json", quiet: true });
    expect(p("list", "--format=json", "--quiet").options).toEqual({ format: "json", quiet: true });
    expect(usageError(() => p("list", "x"))).toBe('"list" takes no arguments');
    expect(usageError(() => p("list", "-f", "xml"))).toBe('flag --format must be one of table, json, got "xml"');
  });

  test("spec", () => {
    expect(p("spec", "-b", "/b", "--rootless").options).toEqual({ bundle: "/b", rootless: true });
    expect(usageError(() => p("spec", "x"))).toBe('"spec" takes no arguments');
  });

  test("features", () => {
    expect(p("features").command).toBe("features");
    expect(usageError(() => p("features", "x"))).toBe('"features" takes no arguments');
  });

  test("ps passes its trailing options through", () => {
    const r = p("ps", "-f", "json", "c", "-ef", "--forest");
    expect(r.options).toEqual({ format: "json" });
    expect(r.positionals).toEqual(["c", "-ef", "--forest"]);
    expect(p("ps", "c").options).toEqual({ format: "table" });
    expect(usageError(() => p("ps"))).toBe('"ps" requires at least 1 argument (the container id)');
  });

  test("help", () => {
    expect(p("help").command).toBe("help");
    expect(p("help", "exec").positionals).toEqual(["exec"]);
    expect(usageError(() => p("help", "nope"))).toBe('unknown command "nope"');
    expect(usageError(() => p("help", "a", "b"))).toBe('"help" takes at most 1 argument (an optional command name)');
  });

  test("-h after a command asks for help and skips argument checks", () => {
    const r = p("create", "-h");
    expect(r.global.help).toBe(true);
    expect(r.command).toBe("create");
    expect(p("exec", "--help").global.help).toBe(true);
  });
});

describe("exec", () => {
  test("everything after the id is the command, unparsed", () => {
    const r = p("exec", "c", "ls", "-la", "--", "-e", "X=1");
    expect(r.options).toEqual({});
    expect(r.positionals).toEqual(["c", "ls", "-la", "--", "-e", "X=1"]);
  });

  test("a -- right after the id is dropped, as runc does", () => {
    expect(p("exec", "c", "--", "ls", "-l").positionals).toEqual(["c", "ls", "-l"]);
    expect(p("exec", "--", "c", "ls").positionals).toEqual(["c", "ls"]);
  });

  test("all flags, with repeated lists", () => {
    const r = p(
      "exec",
      "-t",
      "--console-socket",
      "/s",
      "-d",
      "--pid-file",
      "/p",
      "--cwd",
      "/w",
      "-e",
      "A=1",
      "--env=B=2",
      "-env",
      "C=3",
      "-u",
      "1000:1000",
      "--additional-gids",
      "10",
      "-g",
      "11",
      "-c",
      "CAP_NET_ADMIN",
      "--cap",
      "CAP_SYS_TIME",
      "--no-new-privs",
      "--apparmor",
      "prof",
      "--process-label",
      "lbl",
      "--preserve-fds",
      "2",
      "--cgroup",
      "cpu,cpuacct:sub",
      "--ignore-paused",
      "c",
      "sh",
      "-c",
      "true",
    );
    expect(r.options).toEqual({
      tty: true,
      "console-socket": "/s",
      detach: true,
      "pid-file": "/p",
      cwd: "/w",
      env: ["A=1", "B=2", "C=3"],
      user: "1000:1000",
      "additional-gids": ["10", "11"],
      cap: ["CAP_NET_ADMIN", "CAP_SYS_TIME"],
      "no-new-privs": true,
      apparmor: "prof",
      "process-label": "lbl",
      "preserve-fds": "2",
      cgroup: ["cpu,cpuacct:sub"],
      "ignore-paused": true,
    });
    expect(r.positionals).toEqual(["c", "sh", "-c", "true"]);
  });

  test("--process needs no command", () => {
    const r = p("exec", "-p", "/proc.json", "c");
    expect(r.options.process).toBe("/proc.json");
    expect(r.positionals).toEqual(["c"]);
    expect(p("exec", "--process=/x.json", "c").options.process).toBe("/x.json");
  });

  test("errors", () => {
    expect(usageError(() => p("exec"))).toBe('"exec" requires at least 1 argument (the container id)');
    expect(usageError(() => p("exec", "c"))).toBe('"exec" needs a command to run after the container id, or --process FILE');
    expect(usageError(() => p("exec", "--bogus", "c", "ls"))).toBe('unknown flag --bogus for "exec"');
    expect(usageError(() => p("exec", "-e"))).toBe("flag --env needs a value");
    expect(usageError(() => p("exec", "--tty=2", "c", "ls"))).toBe('flag --tty takes true or false, got "2"');
  });
});

describe("intOption", () => {
  test("non-negative integers", () => {
    expect(intOption("preserve-fds", "0")).toBe(0);
    expect(intOption("preserve-fds", "3")).toBe(3);
    expect(intOption("preserve-fds", "007")).toBe(7);
    expect(intOption("preserve-fds", undefined)).toBeUndefined();
    expect(intOption("preserve-fds", p("create", "--preserve-fds", "5", "c").options["preserve-fds"])).toBe(5);
  });

  test("anything else names the flag", () => {
    for (const bad of ["1x", "-1", "", "1.5", "+1", " 1", "1e3", "0x10", "99999999999999999999"]) {
      expect(usageError(() => intOption("preserve-fds", bad))).toBe(
        `flag --preserve-fds needs a non-negative integer, got ${JSON.stringify(bad)}`,
      );
    }
    expect(usageError(() => intOption("x", true))).toBe("flag --x needs a non-negative integer, got true");
  });
});

describe("typed accessors", () => {
  const o = p("exec", "-t", "-e", "A=1", "--cwd", "/w", "c", "ls").options;
  test("read their kind and default when absent", () => {
    expect(stringOption(o, "cwd")).toBe("/w");
    expect(stringOption(o, "user")).toBeUndefined();
    expect(boolOption(o, "tty")).toBe(true);
    expect(boolOption(o, "detach")).toBe(false);
    expect(listOption(o, "env")).toEqual(["A=1"]);
    expect(listOption(o, "cap")).toEqual([]);
  });
  test("the wrong kind is a programming error", () => {
    expect(() => stringOption(o, "tty")).toThrow(TypeError);
    expect(() => boolOption(o, "env")).toThrow(TypeError);
    expect(() => listOption(o, "cwd")).toThrow(TypeError);
  });
});

describe("usageText", () => {
  test("overview lists every command and global flag", () => {
    const text = usageText();
    for (const name of COMMANDS.keys()) expect(text).toContain(`  ${name} `);
    for (const flag of ["--root DIR", "--log FILE", "--log-format", "--debug", "--systemd-cgroup", "--rootless", "-h, --help", "-v, --version"]) {
      expect(text).toContain(flag);
    }
    expect(text).toContain("(default: /run/bunc)");
  });

  test("per command: synopsis and flags", () => {
    const text = usageText("create");
    expect(text).toContain("usage: bunc create [options] <container-id>");
    expect(text).toContain("-b, --bundle DIR");
    expect(text).toContain("--preserve-fds N");
    expect(text).toContain("-h, --help");
    expect(usageText("update")).toContain("--cpu-share, --cpu-shares N");
    expect(usageText("list")).toContain("usage: bunc list [options]\n");
    expect(usageText("exec")).toContain("-e, --env KEY=VALUE");
  });

  test("every command has help", () => {
    for (const name of COMMANDS.keys()) expect(usageText(name)).toContain(`usage: bunc ${name}`);
  });

  test("unknown command", () => {
    expect(usageError(() => usageText("nope"))).toBe('unknown command "nope"');
  });
});

describe("run --image", () => {
  test("the arguments after -- start at dashDash; flags after the id belong to the command", () => {
    const r = p("run", "--image", "busybox", "-e", "A=1", "-e", "B=2", "--", "sh", "-c", "x");
    expect(r.options.image).toBe("busybox");
    expect(listOption(r.options, "env")).toEqual(["A=1", "B=2"]);
    expect(r.positionals).toEqual(["sh", "-c", "x"]);
    expect(r.dashDash).toBe(0);
    const withId = p("run", "--image", "busybox", "c1", "ls", "-la", "--rm");
    expect(withId.positionals).toEqual(["c1", "ls", "-la", "--rm"]);
    expect(withId.options.rm).toBeUndefined();
    expect(withId.dashDash).toBeUndefined();
  });

  test("without --image: exactly the id, flags after it still parsed, no image flags", () => {
    const r = p("run", "c1", "--bundle", "/b");
    expect(r.positionals).toEqual(["c1"]);
    expect(r.options.bundle).toBe("/b");
    expect(usageError(() => p("run"))).toContain("exactly 1 argument");
    expect(usageError(() => p("run", "c1", "c2"))).toContain("exactly 1 argument");
    expect(usageError(() => p("run", "-e", "A=1", "c1"))).toContain("--env");
    expect(usageError(() => p("run", "--rm", "c1"))).toContain("--rm");
  });

  test("--image and --bundle together are refused", () => {
    expect(usageError(() => p("run", "--bundle", "/b", "--image", "x", "c1"))).toContain("--bundle");
  });
});
