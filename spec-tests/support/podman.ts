// An isolated podman for real-client tests and the bench: its own storage, state, locks,
// events and network config under one temp dir, driving the runtime given by path.
//
//   const pm = makePodman("/path/to/runtime");
//   const r = pm.podman(["run", "--rm", pm.image, "true"]);
//   pm.cleanup();
//
// Every call is `podman --runtime R --root … --runroot … --cgroup-manager cgroupfs
// --events-backend file` with CONTAINERS_CONF / CONTAINERS_STORAGE_CONF pointing at files of
// the temp dir (no systemd here; the host's /etc/containers and /var/lib/containers stay
// untouched). The image is a busybox rootfs (Debian's busybox-static, as in bundle.ts)
// imported from a tar: no registry, no network. No bun:test import: bench/ uses this too.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildRootfs, removeTree, TEMP_PREFIX } from "./bundle.ts";

export interface PodmanResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  argv: string[];
}

export interface Podman {
  /** The temp dir that holds everything of this podman. */
  readonly dir: string;
  /** The runtime podman is told to use (`--runtime`). */
  readonly runtime: string;
  /** busybox with CMD sh. */
  readonly image: string;
  /** busybox whose entrypoint sleeps: the infra image for pods. */
  readonly infraImage: string;
  /** Runs podman and waits; stdin is /dev/null. */
  podman(args: string[], opts?: { timeoutMs?: number }): PodmanResult;
  /** The argv that runs podman (for `script -c` and the like). */
  argv(args: string[]): string[];
  /** The environment podman needs (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF, PATH). */
  readonly env: Record<string, string>;
  /** Removes every container and pod, unmounts what is left under the temp dir, removes it. */
  cleanup(): void;
}

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The podman binary, or undefined when it is not installed. */
export const podmanPath = () => Bun.which("podman", { PATH: DEFAULT_PATH }) ?? undefined;

const tomlString = (s: string) => JSON.stringify(s);

function writeConfigs(dir: string): { containersConf: string; storageConf: string } {
  const containersConf = join(dir, "containers.conf");
  const storageConf = join(dir, "storage.conf");
  // podman's default rlimits ask for more than this machine's hard limits (and no process
  // here may raise them): lower ones are always allowed.
  writeFileSync(
    containersConf,
    [
      "[containers]",
      'default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]',
      'log_driver = "k8s-file"',
      "[engine]",
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = ${tomlString(join(dir, "events.log"))}`,
      `tmp_dir = ${tomlString(join(dir, "tmp"))}`,
      // file locks in tmp_dir, not the host-wide /dev/shm/libpod_lock
      'lock_type = "file"',
      `volume_path = ${tomlString(join(dir, "volumes"))}`,
      "[network]",
      `network_config_dir = ${tomlString(join(dir, "networks"))}`,
      "",
    ].join("\n"),
  );
  writeFileSync(
    storageConf,
    ["[storage]", 'driver = "overlay"', `graphroot = ${tomlString(join(dir, "root"))}`, `runroot = ${tomlString(join(dir, "runroot"))}`, ""].join("\n"),
  );
  return { containersConf, storageConf };
}

export function makePodman(runtime: string): Podman {
  const podmanBin = podmanPath();
  if (!podmanBin) throw new Error("podman is not installed (apt-get install podman conmon)");
  const dir = mkdtempSync(join(tmpdir(), `${TEMP_PREFIX}podman-`));
  try {
    const { containersConf, storageConf } = writeConfigs(dir);
    const env = { PATH: DEFAULT_PATH, CONTAINERS_CONF: containersConf, CONTAINERS_STORAGE_CONF: storageConf, HOME: dir };
    const globals = [
      "--runtime", runtime,
      "--root", join(dir, "root"),
      "--runroot", join(dir, "runroot"),
      "--cgroup-manager", "cgroupfs",
      "--events-backend", "file",
    ];
    const argv = (args: string[]) => [podmanBin, ...globals, ...args];
    const podman = (args: string[], opts: { timeoutMs?: number } = {}): PodmanResult => {
      const full = argv(args);
      const r = Bun.spawnSync(full, { env, stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: opts.timeoutMs ?? 60_000 });
      return { exitCode: r.exitCode ?? 128 + 9, stdout: r.stdout.toString(), stderr: r.stderr.toString(), argv: full };
    };
    const pm: Podman = {
      dir,
      runtime,
      image: "localhost/busybox:test",
      infraImage: "localhost/busybox:infra",
      podman,
      argv,
      env,
      cleanup: () => cleanupPodman(pm),
    };
    importImages(pm);
    return pm;
  } catch (err) {
    removeTree(dir);
    throw err;
  }
}

function importImages(pm: Podman): void {
  const rootfs = join(pm.dir, "image-rootfs");
  buildRootfs(rootfs);
  const tar = join(pm.dir, "busybox.tar");
  const t = Bun.spawnSync(["tar", "-C", rootfs, "-cf", tar, "."], { stderr: "pipe" });
  if (t.exitCode !== 0) throw new Error(`podman image: tar failed: ${t.stderr.toString()}`);
  removeTree(rootfs);
  const imports: [string, string[]][] = [
    [pm.image, ["--change", "CMD sh"]],
    [pm.infraImage, ["--change", 'ENTRYPOINT ["sleep"]', "--change", 'CMD ["1000000"]']],
  ];
  for (const [name, changes] of imports) {
    const r = pm.podman(["import", "--quiet", ...changes, tar, name]);
    if (r.exitCode !== 0) throw new Error(`podman import ${name} failed: ${r.stderr}`);
  }
}

function cleanupPodman(pm: Podman): void {
  if (!existsSync(pm.dir)) return;
  const problems: string[] = [];
  for (const args of [["pod", "rm", "--all", "--force", "--time", "0"], ["rm", "--all", "--force", "--time", "0"]]) {
    const r = pm.podman(args);
    if (r.exitCode !== 0) problems.push(`podman ${args.join(" ")}: ${r.stderr.trim()}`);
  }
  // podman unmounts the image layers when a container is removed; what is still mounted (a
  // container whose removal failed) is detached by removeTree.
  removeTree(pm.dir);
  removeDefaultRootIfOurs();
  if (problems.length) throw new Error(`podman cleanup: ${problems.join("; ")}`);
}

// podman runs bunc without --root, so bunc keeps its state (and its seccomp cache) in the
// default root. When the tests made that directory, they remove it again, once it holds
// nothing but the cache.
const DEFAULT_ROOT = "/run/bunc";
const hadDefaultRoot = existsSync(DEFAULT_ROOT);
function removeDefaultRootIfOurs(): void {
  if (hadDefaultRoot || !existsSync(DEFAULT_ROOT)) return;
  if (readdirSync(DEFAULT_ROOT).some((name) => name !== "@cache")) return;
  rmSync(DEFAULT_ROOT, { recursive: true, force: true });
}

/** Ids of the containers this podman knows, all states. */
export function containerIds(pm: Podman): string[] {
  const r = pm.podman(["ps", "--all", "--no-trunc", "--format", "{{.ID}}"]);
  return r.stdout.split("\n").filter(Boolean);
}

/** The cgroup dirs of a host pid in each v1 hierarchy or the v2 tree, by controller or file. */
export function cgroupFileOf(pid: number, v1Controller: string, file: string, v2File: string): string {
  for (const line of readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n")) {
    const [, controllers, path] = line.split(":");
    if (controllers === undefined || path === undefined) continue;
    if (controllers.split(",").includes(v1Controller)) return readFileSync(join("/sys/fs/cgroup", v1Controller, path, file), "utf8").trim();
  }
  const unified = readFileSync(`/proc/${pid}/cgroup`, "utf8").match(/^0::(.*)$/m)?.[1];
  if (unified === undefined) throw new Error(`no cgroup of ${pid} has ${v1Controller}`);
  return readFileSync(join("/sys/fs/cgroup", unified, v2File), "utf8").trim();
}

/** Makes `dir/name` a symlink to `target` so podman, which decides by the runtime's base
 *  name, treats it as a runtime it knows (it then passes `--log-format=json --log FILE`). */
export function runtimeAlias(target: string, name: string): { path: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), `${TEMP_PREFIX}alias-`));
  const path = join(dir, name);
  symlinkSync(target, path);
  return { path, cleanup: () => removeTree(dir) };
}
