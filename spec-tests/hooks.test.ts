// config.md "POSIX-platform Hooks" and runtime.md "Lifecycle": which hooks run at create,
// start and delete and in what order, the state each reads on stdin, its exact environment
// and argv0, the namespaces it runs in, what a failure or a timeout does, and that a hook
// which never reads its stdin does no harm.
//
// The host hooks are one /bin/sh script (hook.sh, in the bundle dir) that records, under the
// hook's name (its $1), its stdin, its environment, its $0 and its mount, network and user
// namespaces in a host dir bound at /x in the container, then appends the name to x/order.
// startContainer runs inside the container, where only the rootfs's busybox exists: it is
// `/bin/sh -c` with the same recorder inline, writing to /x.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { type Bundle, busyboxPath } from "./support/bundle.ts";
import {
  bindMount,
  containerFixture,
  expectOk,
  expectRefused,
  hostDir,
  isLiveProcess,
  nsLink,
  readOr,
  stateOf,
  waitFor,
} from "./support/assertions.ts";

const fx = containerFixture();

const HOOK_NAMES = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"] as const;
type HookName = (typeof HOOK_NAMES)[number];
type Hook = { path: string; args?: string[]; env?: string[]; timeout?: number };
type Hooks = Partial<Record<HookName, Hook[]>>;

// Records hook `$1` into dir `$d` (the variables are set by the caller). Hooks get no PATH:
// every command is the busybox applet named in full. With FAIL set in its env it then fails.
const recorder = (bb: string) => `
n=\${1:-noargs}
${bb} cat > "$d/$n.stdin"
${bb} tr '\\0' '\\n' < /proc/self/environ > "$d/$n.env"
echo "$0" > "$d/$n.argv0"
${bb} readlink /proc/self/ns/mnt > "$d/$n.mnt"
${bb} readlink /proc/self/ns/net > "$d/$n.net"
${bb} readlink /proc/self/ns/user > "$d/$n.user"
echo "$n" >> "$d/order"
if [ -n "$FAIL" ]; then echo "$n failing on purpose" >&2; exit 1; fi
`;

interface HookBed {
  b: Bundle;
  /** Host dir bound at /x: the hooks' records, and the process's `ran` marker. */
  shared: string;
  /** The host hook script. */
  script: string;
  /** A host hook that records itself under `name`. */
  host(name: string, extra?: Omit<Hook, "path" | "args">): Hook;
  /** An in-container hook (for startContainer) that records itself under `name`. */
  inside(name: string, extra?: Omit<Hook, "path" | "args">, before?: string): Hook;
  /** The hook names in the order they ran. */
  order(): string[];
  /** What hook `name` read on stdin. */
  stdin(name: string): Record<string, unknown>;
  /** Hook `name`'s environment, one entry a line. */
  env(name: string): string[];
  read(name: string, what: "argv0" | "mnt" | "net" | "user" | "exe"): string;
  /** The process wrote its marker. */
  ran(): boolean;
  stop(): void;
}

/** A bundle whose process (unless `args` says otherwise) writes /x/ran and then waits for
 *  /x/stop, with the hooks `make` returns and the given annotations. */
function hookBed(make: (bed: HookBed) => Hooks, opts: { args?: string[]; annotations?: Record<string, string> } = {}): HookBed {
  const b = fx.bundle({ args: opts.args ?? ["sh", "-c", "echo ran > /x/ran; while [ ! -e /x/stop ]; do sleep 0.1; done"] });
  const shared = hostDir(b);
  const script = join(b.dir, "hook.sh");
  writeFileSync(script, `#!/bin/sh\nd='${shared}'\n${recorder(busyboxPath())}`, { mode: 0o755 });
  const lines = (path: string) => readOr(path).split("\n").filter(Boolean);
  const bed: HookBed = {
    b,
    shared,
    script,
    host: (name, extra = {}) => ({ path: script, args: [script, name], ...extra }),
    inside: (name, extra = {}, before = "") => ({
      path: "/bin/sh",
      args: ["sh", "-c", `${before}\nd=/x\n${recorder("/bin/busybox")}`, "sh", name],
      ...extra,
    }),
    order: () => lines(join(shared, "order")),
    stdin: (name) => JSON.parse(readFileSync(join(shared, `${name}.stdin`), "utf8")),
    env: (name) => lines(join(shared, `${name}.env`)),
    read: (name, what) => readFileSync(join(shared, `${name}.${what}`), "utf8").trim(),
    ran: () => existsSync(join(shared, "ran")),
    stop: () => writeFileSync(join(shared, "stop"), ""),
  };
  b.config.mounts!.push(bindMount(shared, "/x"));
  b.config.hooks = make(bed);
  if (opts.annotations) b.config.annotations = opts.annotations;
  b.writeConfig();
  return bed;
}

/** Every hook recording itself under its own name. */
const allHooks = (bed: HookBed): Hooks => ({
  prestart: [bed.host("prestart")],
  createRuntime: [bed.host("createRuntime")],
  createContainer: [bed.host("createContainer")],
  startContainer: [bed.inside("startContainer")],
  poststart: [bed.host("poststart")],
  poststop: [bed.host("poststop")],
});

const create = (b: Bundle, id: string) => fx.rt.bunc(["create", "--bundle", b.dir, id]);
const state = (id: string) => fx.rt.bunc(["state", id]);
const statusOf = (id: string) => stateOf(state(id)).status;
const waitStatus = (id: string, status: string) => waitFor(() => statusOf(id) === status, `${id} to be ${status}`);

/** A refused create that left nothing: no state, no mounts, no cgroup, and the init whose
 *  pid the first hook read is gone. */
function expectNothingLeft(id: string, initPid?: number) {
  expectRefused(state(id), id);
  fx.rt.assertNoLeftovers();
  if (initPid !== undefined) expect(isLiveProcess(initPid)).toBe(false);
}

describe("order", () => {
  test("create runs prestart, createRuntime, createContainer; start startContainer and poststart before it returns; delete poststop", () => {
    const bed = hookBed(allHooks);
    const id = fx.rt.id();
    expectOk(create(bed.b, id));
    expect(bed.order()).toEqual(["prestart", "createRuntime", "createContainer"]);
    expect(bed.ran()).toBe(false);
    expectOk(fx.rt.bunc(["start", id]));
    // poststart's record is there the moment start returns
    const afterStart = bed.order();
    expect(afterStart.slice(0, 3)).toEqual(["prestart", "createRuntime", "createContainer"]);
    expect([...afterStart.slice(3)].sort()).toEqual(["poststart", "startContainer"]);
    waitFor(bed.ran, "the process to run");
    expectOk(fx.rt.bunc(["delete", "-f", id]));
    expect(bed.order()).toEqual([...afterStart, "poststop"]);
    fx.rt.assertNoLeftovers();
  });

  // runtime.md: 7 startContainer, 8 run the program, 9 poststart. A startContainer hook
  // that takes a while shows whether poststart waits for it (and for the exec).
  test("poststart runs after the startContainer hooks and after the process exec'd", () => {
    const bed = hookBed((bed) => ({
      startContainer: [bed.inside("startContainer", {}, "/bin/busybox sleep 1")],
      poststart: [
        {
          path: "/bin/sh",
          args: ["sh", "-c", `pid=$(${busyboxPath()} sed -n 's/.*"pid":\\([0-9]*\\).*/\\1/p'); ${busyboxPath()} readlink /proc/$pid/exe > '${bed.shared}/poststart.exe'; echo poststart >> '${bed.shared}/order'`],
        },
      ],
    }));
    const id = fx.rt.id();
    expectOk(create(bed.b, id));
    expectOk(fx.rt.bunc(["start", id]));
    waitFor(() => bed.order().length === 2, "both hooks to run");
    expect(bed.order()).toEqual(["startContainer", "poststart"]);
    // the init had become the container's process (busybox), not still bunc
    expect(basename(bed.read("poststart", "exe"))).toBe("busybox");
  });

  test("run runs all six, the process between startContainer and poststop", () => {
    const bed = hookBed(allHooks, { args: ["sh", "-c", "echo process >> /x/order"] });
    const r = fx.rt.bunc(["run", "--bundle", bed.b.dir, fx.rt.id()]);
    expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
    const order = bed.order();
    expect(order.slice(0, 3)).toEqual(["prestart", "createRuntime", "createContainer"]);
    expect([...order.slice(3, 6)].sort()).toEqual(["poststart", "process", "startContainer"]);
    expect(order.indexOf("startContainer")).toBeLessThan(order.indexOf("process"));
    expect(order.slice(6)).toEqual(["poststop"]);
    fx.rt.assertNoLeftovers();
  });
});

describe("state on stdin", () => {
  test("each hook reads the container's state: id, status, the init's pid, the bundle, the annotations", () => {
    const annotations = { "org.example.hooks": "yes", "org.example.other": "1" };
    const bed = hookBed(allHooks, { annotations });
    const id = fx.rt.id();
    expectOk(create(bed.b, id));
    expectOk(fx.rt.bunc(["start", id]));
    waitFor(bed.ran, "the process to run");
    const { pid } = stateOf(state(id));
    expect(pid).toBeGreaterThan(0);
    bed.stop();
    waitStatus(id, "stopped");
    expectOk(fx.rt.bunc(["delete", id]));
    const expected: Record<HookName, string> = {
      prestart: "created",
      createRuntime: "created",
      createContainer: "created",
      startContainer: "created",
      poststart: "running",
      poststop: "stopped",
    };
    for (const name of HOOK_NAMES) {
      const s = bed.stdin(name);
      expect({ name, ociVersion: s.ociVersion, id: s.id, status: s.status, bundle: s.bundle, annotations: s.annotations }).toEqual({
        name,
        ociVersion: "1.2.0",
        id,
        status: expected[name],
        bundle: bed.b.dir,
        annotations,
      });
      if (name !== "poststop") expect({ name, pid: s.pid }).toEqual({ name, pid });
    }
  });

  test("the bundle is absolute when create was given a relative one", () => {
    const bed = hookBed((bed) => ({ prestart: [bed.host("prestart")], createContainer: [bed.host("createContainer")] }));
    const id = fx.rt.id();
    expectOk(fx.rt.bunc(["create", "--bundle", basename(bed.b.dir), id], { cwd: dirname(bed.b.dir) }));
    expect(bed.stdin("prestart").bundle).toBe(bed.b.dir);
    expect(bed.stdin("createContainer").bundle).toBe(bed.b.dir);
    expect(bed.stdin("prestart").annotations).toEqual({});
  });
});

describe("environment and arguments", () => {
  test("each hook gets exactly its own env: nothing inherited, no PATH unless given", () => {
    const bed = hookBed((bed) => ({
      prestart: [bed.host("prestart", { env: ["FOO=bar", "EQ=a=b"] })],
      createRuntime: [bed.host("createRuntime")],
      createContainer: [bed.host("createContainer", { env: ["CC=1"] })],
      startContainer: [bed.inside("startContainer", { env: ["INSIDE=yes", "PATH=/custom"] })],
      poststart: [bed.host("poststart", { env: [] })],
      poststop: [bed.host("poststop", { env: ["LAST=1"] })],
    }));
    const id = fx.rt.id();
    expectOk(fx.rt.bunc(["create", "--bundle", bed.b.dir, id], { env: { LEAK: "from-bunc" } }));
    expectOk(fx.rt.bunc(["start", id], { env: { LEAK: "from-bunc" } }));
    waitFor(bed.ran, "the process to run");
    expectOk(fx.rt.bunc(["delete", "-f", id], { env: { LEAK: "from-bunc" } }));
    expect(Object.fromEntries(HOOK_NAMES.map((n) => [n, bed.env(n)]))).toEqual({
      prestart: ["FOO=bar", "EQ=a=b"],
      createRuntime: [],
      createContainer: ["CC=1"],
      startContainer: ["INSIDE=yes", "PATH=/custom"],
      poststart: [],
      poststop: ["LAST=1"],
    });
  });

  test("args[0] is the hook's argv0, the rest its arguments; without args argv0 is the path", () => {
    // dash and busybox sh -c: $0 is argv[0]; /proc/self/cmdline of a redirect's child is the shell's argv
    const argvRecorder = (name: string, bb: string, dir: string) =>
      `${bb} cat > /dev/null; echo "$0" > ${dir}/${name}.argv0; ${bb} tr '\\0' '\\n' < /proc/self/cmdline > ${dir}/${name}.cmdline; echo ${name} >> ${dir}/order`;
    const bb = busyboxPath();
    const bed = hookBed((bed) => ({
      prestart: [{ path: "/bin/sh", args: ["custom-argv0", "-c", argvRecorder("prestart", bb, bed.shared), "first", "second"] }],
      createContainer: [{ path: "/bin/sh", args: ["cc-argv0", "-c", argvRecorder("createContainer", bb, bed.shared)] }],
      // busybox picks its applet from argv0: this runs only if argv0 is "sh"
      startContainer: [{ path: "/bin/busybox", args: ["sh", "-c", argvRecorder("startContainer", "/bin/busybox", "/x")] }],
      // no args: argv0 is the path, $1 is empty (the script records under "noargs")
      poststart: [{ path: bed.script }],
    }));
    const id = fx.rt.id();
    expectOk(create(bed.b, id));
    expectOk(fx.rt.bunc(["start", id]));
    waitFor(bed.ran, "the process to run");
    const cmdline = (name: string) => readOr(join(bed.shared, `${name}.cmdline`)).split("\n").filter(Boolean);
    // after `-c script`, the next argument is the shell's $0
    expect(bed.read("prestart", "argv0")).toBe("first");
    expect(cmdline("prestart")).toEqual(["custom-argv0", "-c", argvRecorder("prestart", bb, bed.shared), "first", "second"]);
    expect(bed.read("createContainer", "argv0")).toBe("cc-argv0");
    expect(bed.read("startContainer", "argv0")).toBe("sh");
    expect(cmdline("startContainer")[0]).toBe("sh");
    expect(bed.read("noargs", "argv0")).toBe(bed.script);
    expect(bed.order()).toEqual(["prestart", "createContainer", "startContainer", "noargs"]);
  });
});

describe("namespaces", () => {
  test("createContainer and startContainer run in the container's mount and network namespaces, the others in the runtime's", () => {
    const bed = hookBed(allHooks);
    const id = fx.rt.id();
    expectOk(create(bed.b, id));
    const { pid } = stateOf(state(id));
    const container = { mnt: nsLink(pid, "mnt"), net: nsLink(pid, "net") };
    const host = { mnt: nsLink("self", "mnt"), net: nsLink("self", "net") };
    expect(container.mnt).not.toBe(host.mnt);
    expect(container.net).not.toBe(host.net);
    expectOk(fx.rt.bunc(["start", id]));
    waitFor(bed.ran, "the process to run");
    expectOk(fx.rt.bunc(["delete", "-f", id]));
    const seen = Object.fromEntries(HOOK_NAMES.map((n) => [n, { mnt: bed.read(n, "mnt"), net: bed.read(n, "net") }]));
    expect(seen).toEqual({
      prestart: host,
      createRuntime: host,
      createContainer: container,
      startContainer: container,
      poststart: host,
      poststop: host,
    });
  });

  test("with a user namespace, createContainer and startContainer run in the container's, the others in the runtime's", () => {
    const bed = hookBed(allHooks);
    bed.b.config.linux!.namespaces!.push({ type: "user" });
    bed.b.config.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    bed.b.config.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    bed.b.writeConfig();
    // the mapped root may not create /x in a rootfs owned by the host's root
    mkdirSync(join(bed.b.rootfs, "x"));
    const id = fx.rt.id();
    expectOk(create(bed.b, id));
    const { pid } = stateOf(state(id));
    const container = nsLink(pid, "user");
    expectOk(fx.rt.bunc(["start", id]));
    waitFor(bed.ran, "the process to run");
    expectOk(fx.rt.bunc(["delete", "-f", id]));
    const seen = Object.fromEntries(HOOK_NAMES.map((n) => [n, bed.read(n, "user")]));
    const host = nsLink("self", "user");
    expect(container).not.toBe(host);
    expect(seen).toEqual({
      prestart: host,
      createRuntime: host,
      createContainer: container,
      startContainer: container,
      poststart: host,
      poststop: host,
    });
    expect(bed.stdin("createContainer").pid).toBe(pid);
  });

  test("createContainer's path resolves in the runtime's mount namespace, startContainer's in the container", () => {
    // hook.sh is only on the host; /bin/sh inside is the rootfs's busybox
    const bed = hookBed((bed) => ({ createContainer: [bed.host("createContainer")], startContainer: [bed.inside("startContainer")] }));
    const id = fx.rt.id();
    expectOk(create(bed.b, id));
    expectOk(fx.rt.bunc(["start", id]));
    waitFor(bed.ran, "the process to run");
    expect(bed.order()).toEqual(["createContainer", "startContainer"]);
  });
});

describe("failures", () => {
  // Failing hook `name`: the hooks before it ran, the one after it in the same list did not,
  // and nothing of the container is left.
  for (const name of ["prestart", "createRuntime", "createContainer"] as const) {
    test(`a failing ${name} hook fails create, names hooks.${name}[0] and its path, and leaves nothing`, () => {
      const before = HOOK_NAMES.slice(0, HOOK_NAMES.indexOf(name));
      const bed = hookBed((bed) => ({
        ...Object.fromEntries(before.map((n) => [n, [bed.host(n)]])),
        [name]: [bed.host(name, { env: ["FAIL=1"] }), bed.host(`${name}-second`)],
        startContainer: [bed.inside("startContainer")],
        poststart: [bed.host("poststart")],
      }));
      const id = fx.rt.id();
      const r = create(bed.b, id);
      expectRefused(r, `hooks.${name}[0]`, bed.script, `${name} failing on purpose`);
      expect(bed.order()).toEqual([...before, name]);
      expect(bed.ran()).toBe(false);
      expectNothingLeft(id, bed.stdin(name).pid as number);
    });
  }

  test("a hook whose path does not exist fails create, names it, and leaves nothing", () => {
    const bed = hookBed(() => ({ createRuntime: [{ path: "/no/such/hook" }] }));
    const id = fx.rt.id();
    expectRefused(create(bed.b, id), "hooks.createRuntime[0]", "/no/such/hook");
    expectNothingLeft(id);
  });

  // runtime.md: a failing prestart, createRuntime or createContainer hook stops the container
  // and "continue[s] the lifecycle at step 12": the container is destroyed and (13) the
  // poststop hooks MUST be invoked. runc runs them from its destroy on a failed create.
  test("a create failed by a hook still runs the poststop hooks", () => {
    const bed = hookBed((bed) => ({
      createRuntime: [bed.host("createRuntime", { env: ["FAIL=1"] })],
      poststop: [bed.host("poststop")],
    }));
    const id = fx.rt.id();
    expectRefused(create(bed.b, id), "hooks.createRuntime[0]");
    expect(bed.order()).toEqual(["createRuntime", "poststop"]);
    expect(bed.stdin("poststop").status).toBe("stopped");
    expectNothingLeft(id);
  });

  test("a failing startContainer hook: the process never runs and the container ends stopped", () => {
    const bed = hookBed((bed) => ({
      startContainer: [bed.inside("startContainer", { env: ["FAIL=1"] }), bed.inside("startContainer-second")],
      poststop: [bed.host("poststop")],
    }));
    const id = fx.rt.id();
    const created = create(bed.b, id);
    expectOk(created);
    const start = fx.rt.bunc(["start", id]);
    waitStatus(id, "stopped");
    expect(bed.ran()).toBe(false);
    expect(bed.order()).toEqual(["startContainer"]);
    // the error is told somewhere: start's stderr, or the init's (create's)
    expect(start.stderr + readOr(created.stderrFile)).toContain("hooks.startContainer[0]");
    expectOk(fx.rt.bunc(["delete", id]));
    expect(bed.order()).toEqual(["startContainer", "poststop"]);
    fx.rt.assertNoLeftovers();
  });

  // runtime.md 7: "If any startContainer hook fails, the runtime MUST generate an error,
  // stop the container, and continue the lifecycle at step 12": the error is `start`'s (the
  // command that ran them), and steps 8 and 9 (the process, poststart) are skipped.
  test("a failing startContainer hook fails start, naming hooks.startContainer[0], and no poststart runs", () => {
    const bed = hookBed((bed) => ({
      startContainer: [bed.inside("startContainer", { env: ["FAIL=1"] })],
      poststart: [bed.host("poststart")],
    }));
    const id = fx.rt.id();
    expectOk(create(bed.b, id));
    const r = fx.rt.bunc(["start", id]);
    waitStatus(id, "stopped");
    expect(bed.ran()).toBe(false);
    expect(bed.order()).toEqual(["startContainer"]);
    expectRefused(r, "hooks.startContainer[0]", "startContainer failing on purpose");
  });

  test("a failing poststart hook is a warning: start exits 0, the next poststart hook runs", () => {
    const bed = hookBed((bed) => ({
      poststart: [bed.host("poststart", { env: ["FAIL=1"] }), bed.host("poststart-second")],
    }));
    const id = fx.rt.id();
    expectOk(create(bed.b, id));
    const r = fx.rt.bunc(["start", id]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain("hooks.poststart[0]");
    expect(r.stderr).toContain(bed.script);
    expect(r.stderr.toLowerCase()).toContain("warn");
    expect(bed.order()).toEqual(["poststart", "poststart-second"]);
    waitFor(bed.ran, "the process to run");
    expect(statusOf(id)).toBe("running");
  });

  test("a failing poststop hook is a warning: delete exits 0, the next poststop hook runs, the container is gone", () => {
    const bed = hookBed((bed) => ({
      poststop: [bed.host("poststop", { env: ["FAIL=1"] }), bed.host("poststop-second")],
    }));
    const id = fx.rt.id();
    expectOk(create(bed.b, id));
    expectOk(fx.rt.bunc(["start", id]));
    waitFor(bed.ran, "the process to run");
    const { pid } = stateOf(state(id));
    const r = fx.rt.bunc(["delete", "-f", id]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain("hooks.poststop[0]");
    expect(r.stderr).toContain(bed.script);
    expect(r.stderr.toLowerCase()).toContain("warn");
    expect(bed.order()).toEqual(["poststop", "poststop-second"]);
    expect(isLiveProcess(pid)).toBe(false);
    expectNothingLeft(id);
  });

  test("poststop runs after the container's process is gone", () => {
    const bed = hookBed((bed) => ({ poststop: [bed.host("poststop")] }));
    const id = fx.rt.id();
    expectOk(create(bed.b, id));
    expectOk(fx.rt.bunc(["start", id]));
    waitFor(bed.ran, "the process to run");
    const { pid } = stateOf(state(id));
    // poststop records the state letter of the init's /proc entry: none (gone), or Z (a
    // zombie nobody reaped yet). The config was read at create: change the script instead.
    writeFileSync(bed.script, `#!/bin/sh\n${busyboxPath()} sed 's/.*) \\([A-Z]\\).*/\\1/' /proc/${pid}/stat > '${bed.shared}/poststop.proc' 2>/dev/null\necho "$1" >> '${bed.shared}/order'\n`);
    expectOk(fx.rt.bunc(["delete", "-f", id]));
    expect(bed.order()).toEqual(["poststop"]);
    expect(["", "Z", "X"]).toContain(readOr(join(bed.shared, "poststop.proc")).trim());
  });
});

describe("timeout", () => {
  for (const name of ["prestart", "createContainer"] as const) {
    test(`a ${name} hook that outlives its timeout is killed and create fails saying so, leaving nothing`, () => {
      const bed = hookBed(() => ({ [name]: [{ path: busyboxPath(), args: ["sleep", "10"], timeout: 1 }] }));
      const id = fx.rt.id();
      const t0 = Date.now();
      const r = create(bed.b, id);
      const took = Date.now() - t0;
      expectRefused(r, `hooks.${name}[0]`, "timed out");
      expect(took).toBeLessThan(5_000);
      expectNothingLeft(id);
    });
  }

  test("a poststart hook that outlives its timeout is a warning, start returns soon", () => {
    const bed = hookBed(() => ({ poststart: [{ path: busyboxPath(), args: ["sleep", "10"], timeout: 1 }] }));
    const id = fx.rt.id();
    expectOk(create(bed.b, id));
    const t0 = Date.now();
    const r = fx.rt.bunc(["start", id]);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain("hooks.poststart[0]");
    expect(r.stderr).toContain("timed out");
    waitFor(bed.ran, "the process to run");
  });

  // A hook is usually a script: what it started must not outlive the timeout either (it
  // holds bunc's stdout, and whatever the hook was doing goes on).
  test("a timed-out script hook's own children are killed too", () => {
    const bed = hookBed((bed) => ({ prestart: [{ path: "/bin/sh", args: ["sh", "-c", `${busyboxPath()} sleep 10; echo late >> '${bed.shared}/order'`], timeout: 1 }] }));
    const id = fx.rt.id();
    expectRefused(create(bed.b, id), "hooks.prestart[0]", "timed out");
    Bun.sleepSync(200);
    const left = readdirSync("/proc")
      .filter((n) => /^\d+$/.test(n) && isLiveProcess(Number(n)))
      .filter((n) => readOr(`/proc/${n}/cmdline`) === `${busyboxPath()}\0sleep\x0010\0`)
      .map(Number);
    for (const p of left) process.kill(p, "SIGKILL");
    expect(left).toEqual([]);
    expectNothingLeft(id);
  });
});

describe("stdin", () => {
  test("hooks that never read their stdin do not hurt bunc, even with a 100 KB state", () => {
    const big = "x".repeat(100 * 1024);
    const trueHook = { path: busyboxPath(), args: ["true"] };
    const bed = hookBed(
      () => ({
        prestart: [trueHook],
        createRuntime: [trueHook],
        createContainer: [trueHook],
        startContainer: [{ path: "/bin/true" }],
        poststart: [trueHook],
        poststop: [trueHook],
      }),
      { annotations: { "org.example.big": big } },
    );
    const id = fx.rt.id();
    expectOk(create(bed.b, id));
    expect((stateOf(state(id)).annotations as Record<string, string>)["org.example.big"]).toBe(big);
    expectOk(fx.rt.bunc(["start", id]));
    waitFor(bed.ran, "the process to run");
    expectOk(fx.rt.bunc(["delete", "-f", id]));
    fx.rt.assertNoLeftovers();
  });

  test("a host hook that is not a script: /bin/true as prestart", () => {
    const bed = hookBed(() => ({ prestart: [{ path: "/bin/true" }] }), { annotations: { "org.example.big": "y".repeat(100 * 1024) } });
    const id = fx.rt.id();
    expectOk(create(bed.b, id));
    expect(statusOf(id)).toBe("created");
  });
});

describe("features", () => {
  test("bunc features lists all six hooks", () => {
    const f = JSON.parse(expectOk(fx.rt.bunc(["features"]))) as { hooks?: string[] };
    expect([...(f.hooks ?? [])].sort()).toEqual([...HOOK_NAMES].sort());
  });
});

