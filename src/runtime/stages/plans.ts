// What the CLI tells each stage. Plain JSON: it crosses the stage socket.
import type { NamespaceEntry, NamespaceType } from "../../linux/namespaces.ts";
import type { SeccompPlan } from "../../linux/seccomp/install.ts";
import type { Process, Spec } from "../../spec/runtime-config.ts";

export interface InitPlan {
  type: "init";
  id: string;
  config: Spec;
  bundle: string;
  /** Absolute host path of the rootfs. */
  rootfs: string;
  noPivot: boolean;
  /** runc's --no-new-keyring: keep the caller's session keyring. */
  noNewKeyring: boolean;
  preserveFds: number;
  /** The new network namespace was made by the CLI: its fd comes after exec.fifo's. */
  networkFromCli?: boolean;
  /** The init runs in a user namespace (new or joined): no mknod, maybe no setgroups. */
  userns: boolean;
  setgroupsAllowed: boolean;
  /** Namespaces the init itself joins or creates (all but user, pid and time). */
  namespaces: NamespaceEntry[];
  /** Where the pty's master goes (process.terminal), an absolute host path. */
  consoleSocket?: string;
  /** The compiled linux.seccomp, compiled by the CLI so the init loads no compiler. */
  seccomp?: SeccompPlan;
  /** The container's cgroup dirs (hierarchy → host dir), for cgroup mounts without a cgroup namespace. */
  cgroupDirs?: Record<string, string>;
  /** The CLI puts the init in its cgroup while the init works and says {placed}: the init
   * waits for it before its cgroup namespace, cgroup mounts and hooks. */
  placedLater: boolean;
  /** The init's pid as the host sees it (for the seccomp agent's state). */
  hostPid: number;
}

export interface NsinitPlan {
  type: "nsinit";
  /** user, pid and time entries of linux.namespaces. */
  namespaces: NamespaceEntry[];
  /** With `run` in the foreground nsinit waits for the init and exits with its status. */
  relay: boolean;
  preserveFds: number;
  timeOffsets?: Record<string, { secs?: number; nanosecs?: number }>;
}

export interface ExecPlan {
  type: "exec";
  id: string;
  process: Process;
  /** Host pid of the container's init: the stage joins its user and mount namespaces. */
  initPid: number;
  joinUser: boolean;
  /** Rootless: the stage joins user and these namespaces itself and spawns the real exec stage (exec-relay.ts). */
  stageJoins?: NamespaceType[];
  setgroupsAllowed: boolean;
  preserveFds: number;
  seccomp?: SeccompPlan;
  /** Where the pty's master goes (process.terminal), an absolute host path. */
  consoleSocket?: string;
  ociVersion: string;
  bundle: string;
  annotations: Record<string, string>;
}

/** The part of linux.namespaces a stage handles. */
export const INIT_NAMESPACES = ["ipc", "uts", "network", "cgroup", "mount"] as const;
export const SPAWNER_NAMESPACES = ["user", "pid", "time"] as const;
