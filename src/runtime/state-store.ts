// The state directory of one container: <root>/<id>/ holding state.json and, between
// create and start, exec.fifo. Directories are 0700: the state names host paths and pids.
import { EEXIST, ENOENT } from "../../ffi/errors.ts";
import { mkdirAll, mkdirPath, pathExists, readTextFile, removePath, renamePath, writeNewFile } from "../../ffi/files.ts";
import { joinPath as join } from "../linux/posix-path.ts";
import { nodeFs } from "../node-fs.ts";
import { BuncError } from "../errors.ts";
import type { CgroupRecord } from "../linux/cgroups/cgroup.ts";
import type { Spec } from "../spec/runtime-config.ts";

export interface ContainerRecord {
  id: string;
  /** Host pid of the container's init; 0 before it exists. */
  pid: number;
  /** Start time of `pid` from /proc/<pid>/stat, to tell it from a later process with the same pid. */
  pidStartTime: string;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  /** The config as it was at create: later edits of config.json change nothing. */
  config: Spec;
  /** The pid namespace inode of the init, to find its processes for kill --all. */
  pidNamespace?: string;
  /** True when the container shares the host's (or another) pid namespace. */
  sharedPidNamespace?: boolean;
  /** The container's cgroup: made at create, removed at delete. */
  cgroup?: CgroupRecord;
  /** The mount namespace inode of the init when it has a new one: finds its processes when the pid namespace is shared. */
  mountNamespace?: string;
}

export const STATE_FILE = "state.json";
export const EXEC_FIFO = "exec.fifo";

// runc's rule for ids: letters, digits and _ + - . ; no path separators, not "." or "..".
const ID_PATTERN = /^[\w+.-]+$/;

export function checkId(id: string): void {
  if (!ID_PATTERN.test(id) || id === "." || id === ".." || id.length > 1024) {
    throw new BuncError("usage", `invalid container id ${JSON.stringify(id)}: use letters, digits and _ + - .`);
  }
}

const existsError = (id: string) => new BuncError("exists", `container "${id}" already exists`);

export class StateStore {
  constructor(readonly root: string) {}

  dir(id: string): string {
    checkId(id);
    return join(this.root, id);
  }

  /** Fails as claim would when the id is taken, without claiming it. */
  checkFree(id: string): string {
    const dir = this.dir(id);
    if (pathExists(dir)) throw existsError(id);
    return dir;
  }

  /** Claim the id: mkdir is atomic, so two creates of one id cannot both win. */
  claim(id: string): string {
    const dir = this.dir(id);
    try {
      mkdirAll(this.root, 0o700);
      mkdirPath(dir, 0o700);
    } catch (err) {
      if ((err as { errno?: number }).errno === EEXIST) throw existsError(id);
      throw new BuncError("system", `cannot create state dir ${dir}: ${(err as Error).message}`);
    }
    return dir;
  }

  /**
   * Written beside and renamed over, so a reader sees the old record or the new one, never
   * half of one. Not fsync'd: a container's state is worthless after a reboot, and on a disk
   * (where --root may be) the flush costs every create a millisecond or two.
   */
  write(record: ContainerRecord): void {
    const dir = this.dir(record.id);
    const tmp = join(dir, `.${STATE_FILE}.tmp`);
    writeNewFile(tmp, JSON.stringify(record), 0o600);
    renamePath(tmp, join(dir, STATE_FILE));
  }

  read(id: string): ContainerRecord {
    const file = join(this.dir(id), STATE_FILE);
    let text: string;
    try {
      text = readTextFile(file);
    } catch {
      throw new BuncError("not-found", `container "${id}" does not exist`);
    }
    try {
      return JSON.parse(text) as ContainerRecord;
    } catch {
      throw new BuncError("state", `state file ${file} is corrupt`);
    }
  }

  exists(id: string): boolean {
    return pathExists(join(this.dir(id), STATE_FILE));
  }

  ids(): string[] {
    try {
      return nodeFs().readdirSync(this.root).filter((name) => ID_PATTERN.test(name) && nodeFs().existsSync(join(this.root, name, STATE_FILE)));
    } catch {
      return [];
    }
  }

  remove(id: string): void {
    const dir = this.dir(id);
    // What a state dir holds, removed with a few plain calls; anything else (or any
    // failure) falls back to a recursive removal.
    try {
      for (const name of [STATE_FILE, EXEC_FIFO, `.${STATE_FILE}.tmp`]) {
        try {
          removePath(join(dir, name));
        } catch (err) {
          if ((err as { errno?: number }).errno !== ENOENT) throw err;
        }
      }
      removePath(dir, true);
    } catch (err) {
      if ((err as { errno?: number }).errno !== ENOENT) nodeFs().rmSync(dir, { recursive: true, force: true });
    }
  }
}
