// `bunc doctor`: what this host offers bunc, for the caller as they are (root or not), each
// finding with the fix when something is missing. Nothing here changes the host: it reads
// sysctls and files, and tries what containers will do (a user namespace with its maps, in
// a throwaway stage, as a container's nsinit makes one). Checks that
// a rootless run cannot do without are `required`; the others only limit what works
// (resource limits, wide id maps).
import { accessSync, constants, existsSync, readFileSync, statSync } from "node:fs";
import { AT_FDCWD, O } from "../../ffi/constants.ts";
import { SysError } from "../../ffi/errors.ts";
import { linuxSys, type Sys } from "../../ffi/sys.ts";
import { delegationRoot } from "../linux/cgroups/rootless-cgroup.ts";
import { detectCgroups } from "../linux/cgroups/detect.ts";
import { ownCgroups } from "../linux/cgroups/cgroups-path.ts";
import { openInRoot } from "../linux/safe-path.ts";
import { MappedStorage } from "../image/run/mapped-storage.ts";
import { mapText } from "../linux/user-namespace.ts";
import { ownIdMaps, readSubIds, SUBGID_FILE, SUBUID_FILE, userName, wideIdMaps, type IdMaps } from "../linux/subids.ts";
import { readOnlySelf } from "./stages/readonly-self.ts";

export interface Finding {
  check: string;
  ok: boolean;
  detail: string;
  /** What to do when not ok; empty when ok. */
  fix: string;
  /** A failed required check stops containers from running at all. */
  required: boolean;
}

/** How many ids a wide map needs: 65536 covers the uids of common images. */
export const WANTED_SUB_IDS = 65536;

const readSysctl = (path: string) => {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
};

const finding = (check: string, ok: boolean, detail: string, fix: string, required: boolean): Finding => ({ check, ok, detail, fix: ok ? "" : fix, required });

export interface DoctorHost {
  euid: number;
  egid: number;
  sys: Sys;
  sysctl: (path: string) => string | undefined;
  /** Makes a user namespace with these maps in a throwaway stage; throws what failed. */
  tryMaps: (maps: IdMaps) => void;
}

const tryMaps = (maps: IdMaps) => new MappedStorage(maps).probe();

export function runDoctor(host: DoctorHost = { euid: process.geteuid!(), egid: process.getegid!(), sys: linuxSys, sysctl: readSysctl, tryMaps }): Finding[] {
  const rootless = host.euid !== 0;
  const wide = rootless ? wideIdMaps(host.euid, host.egid) : undefined;
  return [
    ...userNamespaceChecks(host, rootless),
    userNamespaceTry(host, rootless),
    ...(wide ? [wideMapsTry(host, wide)] : []),
    syscallCheck("openat2", "safe path resolution inside the rootfs (RESOLVE_IN_ROOT)", () => {
      const root = host.sys.openat(AT_FDCWD, "/", O.PATH | O.DIRECTORY | O.CLOEXEC);
      try {
        host.sys.close(openInRoot(host.sys, root, "proc", O.PATH));
      } finally {
        host.sys.close(root);
      }
    }),
    runtimeBinaryCheck(host.sys, rootless),
    overlayCheck(),
    ...(rootless ? subIdChecks(host.euid) : []),
    ...(rootless ? helperChecks() : []),
    cgroupCheck(host.euid, rootless),
  ];
}

function userNamespaceChecks(host: DoctorHost, rootless: boolean): Finding[] {
  const out: Finding[] = [];
  const max = host.sysctl("/proc/sys/user/max_user_namespaces");
  out.push(
    finding(
      "user namespaces",
      existsSync("/proc/self/ns/user") && max !== undefined && Number(max) > 0,
      max === undefined ? "the kernel has no user namespaces (CONFIG_USER_NS)" : `user.max_user_namespaces = ${max}`,
      max === undefined ? "use a kernel built with CONFIG_USER_NS=y" : "sysctl -w user.max_user_namespaces=28633 (and in /etc/sysctl.d/ to keep it)",
      rootless,
    ),
  );
  // Debian's and Ubuntu's older kernels: a switch for unprivileged user namespaces.
  const clone = host.sysctl("/proc/sys/kernel/unprivileged_userns_clone");
  if (clone !== undefined) {
    out.push(finding("unprivileged user namespaces", clone === "1" || !rootless, `kernel.unprivileged_userns_clone = ${clone}`, "sysctl -w kernel.unprivileged_userns_clone=1", rootless));
  }
  // Ubuntu 23.10+: AppArmor lets only profiled programs make user namespaces.
  const apparmor = host.sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
  if (apparmor !== undefined) {
    out.push(
      finding(
        "AppArmor user namespace restriction",
        apparmor === "0" || !rootless,
        `kernel.apparmor_restrict_unprivileged_userns = ${apparmor}`,
        `give bunc an AppArmor profile with "userns," (e.g. /etc/apparmor.d/bunc: "abi <abi/4.0>, profile bunc ${process.execPath} flags=(unconfined) { userns, }", then apparmor_parser -r /etc/apparmor.d/bunc), or sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`,
        rootless,
      ),
    );
  }
  return out;
}

const mapsText = (maps: IdMaps) => `uid map ${mapText(maps.uidMappings).trim().replaceAll("\n", ", ")}; gid map ${mapText(maps.gidMappings).trim().replaceAll("\n", ", ")}`;

/** A user namespace mapping the caller's own ids, made as a container's would be. */
function userNamespaceTry(host: DoctorHost, rootless: boolean): Finding {
  const maps = ownIdMaps(host.euid, host.egid);
  try {
    host.tryMaps(maps);
    return finding("user namespace (tried)", true, `made one with ${mapsText(maps)}`, "", rootless);
  } catch (err) {
    const said = (err as Error).message;
    const fix = /No space left|ENOSPC/.test(said)
      ? "raise user.max_user_namespaces: sysctl -w user.max_user_namespaces=28633"
      : "see the user namespace findings above (kernel.unprivileged_userns_clone, AppArmor's restriction, user.max_user_namespaces); in a container, its seccomp profile or runtime may forbid unshare(CLONE_NEWUSER)";
    return finding("user namespace (tried)", false, `cannot make one: ${said}`, fix, rootless);
  }
}

/** The caller's sub-id maps set through newuidmap/newgidmap, as rootless `run --image` sets them. */
function wideMapsTry(host: DoctorHost, maps: IdMaps): Finding {
  const name = userName(host.euid) ?? String(host.euid);
  try {
    host.tryMaps(maps);
    return finding("sub-id maps (tried)", true, `newuidmap and newgidmap set ${mapsText(maps)}`, "", false);
  } catch (err) {
    return finding(
      "sub-id maps (tried)",
      false,
      `cannot set ${mapsText(maps)}: ${(err as Error).message}`,
      `as root: fix the lines for ${name} in ${SUBUID_FILE} and ${SUBGID_FILE} (each range within 0-4294967294, not overlapping another user's, e.g. "${name}:100000:65536"), and make newuidmap and newgidmap setuid root (apt install --reinstall uidmap)`,
      false,
    );
  }
}

function syscallCheck(name: string, why: string, probe: () => void): Finding {
  try {
    probe();
    return finding(name, true, `available: ${why}`, "", true);
  } catch (err) {
    const missing = err instanceof SysError && err.errno === 38;
    return finding(name, false, `${missing ? "not in this kernel" : (err as Error).message}: needed for ${why}`, "Linux 5.6 or later", true);
  }
}

function runtimeBinaryCheck(sys: Sys, rootless: boolean): Finding {
  const name = rootless ? "runtime binary (rootless)" : "open_tree/mount_setattr";
  try {
    sys.close(readOnlySelf(sys));
    return finding(name, true, rootless ? `${process.execPath} is root's and read-only to you: containers run it from a read-only fd` : "a read-only view of the bunc binary for its stages (Linux 5.12+)", "", true);
  } catch (err) {
    const missing = err instanceof SysError && err.errno === 38;
    return finding(
      name,
      false,
      missing ? "open_tree or mount_setattr is not in this kernel" : (err as Error).message,
      missing ? "Linux 5.12 or later" : `sudo install -m 755 -o root -g root ${process.execPath} /usr/local/bin/bunc`,
      true,
    );
  }
}

/** Overlay mounts inside a user namespace: Linux 5.11+ (bunc does not need them yet; images may later). */
function overlayCheck(): Finding {
  const filesystems = readSysctl("/proc/filesystems") ?? "";
  const [major = 0, minor = 0] = (readSysctl("/proc/sys/kernel/osrelease") ?? "").split(".").map((p) => Number.parseInt(p, 10));
  const inUserns = major > 5 || (major === 5 && minor >= 11);
  const ok = /\toverlay$/m.test(filesystems) && inUserns;
  return finding(
    "overlayfs in user namespaces",
    ok,
    `${/\toverlay$/m.test(filesystems) ? "overlay is registered" : "overlay is not registered (modprobe overlay)"}; kernel ${major}.${minor}${inUserns ? " mounts it in user namespaces" : " needs 5.11+ for that"}`,
    "modprobe overlay; Linux 5.11 or later",
    false,
  );
}

function subIdChecks(euid: number): Finding[] {
  const name = userName(euid);
  return [
    [SUBUID_FILE, "uids"],
    [SUBGID_FILE, "gids"],
  ].map(([file, ids]) => {
    const ranges = readSubIds(file!, name, euid);
    const total = ranges.reduce((n, r) => n + r.count, 0);
    const list = ranges.map((r) => `${r.start}-${r.start + r.count - 1}`).join(", ");
    return finding(
      `${file} range`,
      total >= WANTED_SUB_IDS,
      ranges.length ? `${name ?? euid} has ${total} sub${ids} (${list})` : `no line for ${name ?? `uid ${euid}`} in ${file}: only your own ${ids.slice(0, 3)} can be mapped (enough for bunc spec --rootless, not for images with other owners)`,
      `as root: usermod --add-sub${ids} 100000-165535 ${name ?? euid} (or add "${name ?? euid}:100000:65536" to ${file}), choosing a range no other user has`,
      false,
    );
  });
}

function helperChecks(): Finding[] {
  return ["newuidmap", "newgidmap"].map((helper) => {
    const path = Bun.which(helper, { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" });
    let ok = false;
    let detail = `${helper} is not installed: only your own id can be mapped`;
    if (path) {
      const st = statSync(path);
      const setuid = st.uid === 0 && (st.mode & 0o4000) !== 0;
      const caps = hasFileCaps(path);
      ok = setuid || caps;
      detail = ok ? `${path} (${setuid ? "setuid root" : "file capabilities"})` : `${path} is neither setuid root nor given capabilities`;
    }
    return finding(helper, ok, detail, path ? `chmod u+s ${path} (or setcap cap_setuid,cap_setgid+ep ${path})` : "apt install uidmap (Debian, Ubuntu) or dnf install shadow-utils", false);
  });
}

function hasFileCaps(path: string): boolean {
  const r = Bun.spawnSync({ cmd: ["getcap", path], stdio: ["ignore", "pipe", "ignore"] });
  return r.exitCode === 0 && r.stdout.toString().includes("cap_set");
}

function cgroupCheck(euid: number, rootless: boolean): Finding {
  const host = detectCgroups();
  if (!rootless) {
    return finding("cgroups", true, host.mode === "v2" ? "cgroup v2" : `cgroup ${host.mode}: v1 controllers${host.unified ? `, cgroup2 at ${host.unified}` : ""}`, "", false);
  }
  if (host.mode === "v1" || !host.unified) {
    return finding("cgroups (rootless)", false, `cgroup ${host.mode}: only root can make cgroups here, so rootless containers get no resource limits`, "boot with systemd.unified_cgroup_hierarchy=1 for cgroup v2, then run bunc under a systemd unit or scope with Delegate=yes", false);
  }
  const hybrid = host.mode === "hybrid" ? `cgroup hybrid: the v1 controllers are root's; in the cgroup2 hierarchy at ${host.unified}, ` : "cgroup v2, ";
  const own = ownCgroups().get("") ?? "/";
  const root = delegationRoot(host.unified, own, euid);
  let offered: string | undefined;
  try {
    if (root) {
      accessSync(`${host.unified}${root}/cgroup.subtree_control`, constants.W_OK);
      offered = readFileSync(`${host.unified}${root}/cgroup.controllers`, "utf8").trim() || "no controllers";
    }
  } catch {}
  return finding(
    "cgroups (rootless)",
    offered !== undefined,
    offered !== undefined ? `${hybrid}${root} is delegated to you: limits of ${offered} apply under it` : `${hybrid}no part of your cgroup (${own}) is delegated to you: resources are skipped`,
    `${host.mode === "hybrid" ? "boot with systemd.unified_cgroup_hierarchy=1 for all controllers in cgroup v2, and " : ""}run bunc in a systemd unit or scope with Delegate=yes, e.g. systemd-run --user --scope -p Delegate=yes bunc run …`,
    false,
  );
}
