// A throw-away unprivileged user for rootless tests: made with useradd (a unique name), given
// a private temp dir it owns (its XDG_RUNTIME_DIR and bundles live there), and /etc/subuid and
// /etc/subgid lines only when a test asks for them. `remove()` kills its processes, deletes
// the user with its home (userdel -r), its sub-id lines and its temp dir: call it in
// afterAll, it is safe to call after a failure or twice.
//
//   const u = createTestUser();
//   afterAll(() => u.remove());
//   u.setSubIds(200000, 65536);
//   const r = u.bunc(["run", id], { cwd: bundleDir });
import { chownSync, chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildRootfs, removeTree, TEMP_PREFIX } from "./bundle.ts";
import { buncPath } from "./bunc.ts";

export const SUBUID_FILE = "/etc/subuid";
export const SUBGID_FILE = "/etc/subgid";

export interface RunResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  cgroup?: string;
}

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  /** Owned by the user, mode 0700. */
  dir: string;
  /** $XDG_RUNTIME_DIR of the user's bunc: state goes to <runtimeDir>/bunc by default. */
  runtimeDir: string;
  /** Replace the user's lines in /etc/subuid and /etc/subgid with one range each. */
  setSubIds(start: number, count: number): void;
  /** Remove the user's lines from /etc/subuid and /etc/subgid. */
  clearSubIds(): void;
  /**
   * Run bunc as the user with a clean environment (PATH, HOME, XDG_RUNTIME_DIR, USER);
   * `cgroup`: a cgroup2 directory root puts the process in first (as systemd would).
   */
  bunc(args: string[], opts?: RunOptions): RunResult;
  /** Run any command as the user, same environment. */
  run(cmd: string[], opts?: RunOptions): RunResult;
  /** A bundle owned by the user: busybox rootfs and `bunc spec --rootless`'s config, patched. */
  makeBundle(patch?: (config: Record<string, any>) => void): string;
  remove(): void;
}

const randomHex = (bytes: number) => Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");

function sh(cmd: string[]): { exitCode: number; out: string } {
  const r = Bun.spawnSync({ cmd, stdio: ["ignore", "pipe", "pipe"] });
  return { exitCode: r.exitCode ?? -1, out: r.stdout.toString() + r.stderr.toString() };
}

function withoutUser(file: string, name: string): string {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith(`${name}:`))
    .map((line) => `${line}\n`)
    .join("");
}

export function createTestUser(): TestUser {
  const name = `bunct${randomHex(5)}`;
  const made = sh(["useradd", "-m", "-s", "/bin/sh", name]);
  if (made.exitCode !== 0) throw new Error(`useradd ${name}: ${made.out}`);
  let removed = false;
  const clearSubIds = () => {
    for (const file of [SUBUID_FILE, SUBGID_FILE]) writeFileSync(file, withoutUser(file, name));
  };
  let dir = "";
  const dirs: string[] = [];
  const remove = () => {
    if (removed) return;
    removed = true;
    sh(["pkill", "-KILL", "-u", name]);
    // The user's containers may hold mounts under its dir for a moment after their death.
    for (let i = 0; i < 50 && sh(["pgrep", "-u", name]).exitCode === 0; i++) Bun.sleepSync(20);
    sh(["userdel", "-r", "-f", name]);
    clearSubIds();
    for (const d of [dir, ...dirs]) if (d) removeTree(d);
  };
  // Also when the test process ends without its afterAll (a crash, a timeout of the runner).
  process.on("exit", remove);
  try {
    // useradd may have given the user a default range: tests choose their own.
    clearSubIds();
    const uid = Number(sh(["id", "-u", name]).out.trim());
    const gid = Number(sh(["id", "-g", name]).out.trim());
    dir = mkdtempSync(join(tmpdir(), TEMP_PREFIX));
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
    const runtimeDir = join(dir, "run");
    mkdirSync(runtimeDir, { mode: 0o700 });
    chownSync(runtimeDir, uid, gid);
    const env = (extra: Record<string, string> = {}) => ({
      PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      HOME: `/home/${name}`,
      USER: name,
      XDG_RUNTIME_DIR: runtimeDir,
      ...extra,
    });
    // Output through files, not pipes: a container that `create` starts inherits stdio and
    // would hold a pipe open long after bunc has exited.
    const outDir = mkdtempSync(join(tmpdir(), TEMP_PREFIX));
    dirs.push(outDir);
    let calls = 0;
    const run: TestUser["run"] = (cmd, opts = {}) => {
      const [out, err] = ["out", "err"].map((k) => join(outDir, `${++calls}.${k}`));
      const fds = [openSync(out!, "w"), openSync(err!, "w")];
      try {
        const asUser = ["setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--init-groups", "--", ...cmd];
        const r = Bun.spawnSync({
          cmd: opts.cgroup === undefined ? asUser : ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', opts.cgroup, ...asUser],
          cwd: opts.cwd ?? dir,
          env: env(opts.env),
          stdio: ["ignore", fds[0]!, fds[1]!],
          timeout: opts.timeoutMs ?? 30_000,
        });
        return { exitCode: r.exitCode, stdout: readFileSync(out!, "utf8"), stderr: readFileSync(err!, "utf8") };
      } finally {
        fds.forEach((fd) => closeSync(fd));
      }
    };
    const user: TestUser = {
      name,
      uid,
      gid,
      dir,
      runtimeDir,
      setSubIds(start, count) {
        for (const file of [SUBUID_FILE, SUBGID_FILE]) writeFileSync(file, `${withoutUser(file, name)}${name}:${start}:${count}\n`);
      },
      clearSubIds,
      run,
      bunc: (args, opts) => run([buncPath(), ...args], opts),
      makeBundle(patch) {
        const bundle = mkdtempSync(join(dir, "bundle-"));
        buildRootfs(join(bundle, "rootfs"));
        sh(["chown", "-R", `${uid}:${gid}`, bundle]);
        // Written by the user's own bunc, so the maps name the user's ids.
        const spec = run([buncPath(), "spec", "--rootless", "--bundle", bundle]);
        if (spec.exitCode !== 0) throw new Error(`bunc spec --rootless: ${spec.stderr}`);
        const configPath = join(bundle, "config.json");
        const config = JSON.parse(readFileSync(configPath, "utf8"));
        patch?.(config);
        writeFileSync(configPath, JSON.stringify(config, null, 2));
        sh(["chown", "-R", `${uid}:${gid}`, bundle]);
        return bundle;
      },
      remove,
    };
    return user;
  } catch (err) {
    remove();
    throw err;
  }
}
