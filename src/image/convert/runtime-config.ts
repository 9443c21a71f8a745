// An OCI image config → the config.json of a runtime bundle, per image-spec conversion.md:
// the image's fields (Entrypoint, Cmd, Env, WorkingDir, User, Volumes, annotations) on top of
// the defaults `bunc spec` writes (mounts, namespaces, masked and read-only paths, rlimits,
// the default seccomp profile), with docker's default capability set, which images are
// built to expect (chown, setuid, … in entrypoint scripts).
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BuncError } from "../../errors.ts";
import { defaultSeccompProfile } from "../../linux/seccomp/default-profile.ts";
import { nativeArch } from "../../linux/seccomp/tables/index.ts";
import { defaultSpec } from "../../runtime/default-spec.ts";
import { RunnableImageConfigSchema } from "../../spec/image-config.ts";
import type { Spec } from "../../spec/runtime-config.ts";
import { validateSpec } from "../../spec/validate-config.ts";
import { imageAnnotations } from "./annotations.ts";
import { checkImageSchema, imageError } from "./image-error.ts";
import { processArgs, processCwd, processEnv } from "./process-fields.ts";
import { resolveUser } from "./user.ts";
import { volumeMounts } from "./volumes.ts";

/** The capabilities docker and podman give a container by default. */
export const IMAGE_DEFAULT_CAPABILITIES = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
  "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
];

/** What the caller changes on top of the image (docker run's flags, roughly). */
export interface ConvertOptions {
  /** Replace Config.Cmd (Entrypoint stays); empty or absent keeps Cmd. */
  args?: string[];
  /** NAME=value entries applied after Config.Env; a later name wins. */
  env?: string[];
  terminal?: boolean;
  /** Replace Config.WorkingDir; must be absolute. */
  cwd?: string;
  /** Replace Config.User; same forms (user, uid, user:group, uid:gid, …). */
  user?: string;
  /** Default "bunc", as `bunc spec`. */
  hostname?: string;
  /** Mount the rootfs read-only (default false: images expect to write to it). */
  readonlyRootfs?: boolean;
  /** The image's name or digest, for error messages. */
  imageName?: string;
}

/**
 * The runtime config for running the image whose parsed config JSON is `image`, on the
 * unpacked rootfs at `rootfsDir` (used as root.path verbatim; user and group names are
 * looked up inside it). Throws a BuncError naming the field or file at fault.
 */
export function runtimeConfigFromImage(image: unknown, rootfsDir: string, opts: ConvertOptions = {}): Spec {
  const config = checkImageSchema(RunnableImageConfigSchema, image);
  if (config.os !== "linux") throw imageError("os", `${JSON.stringify(config.os)} images cannot run here (only linux)`);
  const exec = config.config ?? {};
  const imageName = opts.imageName ?? "(unnamed)";

  const userSpec = opts.user ?? exec.User ?? "";
  const user = resolveUser(userSpec, rootfsDir, opts.user !== undefined ? "user override" : "Config.User");
  const extraEnv: Record<string, string> = { HOME: user.home || "/" };
  if (opts.terminal) extraEnv.TERM = "xterm";

  const spec = defaultSpec();
  const caps = [...IMAGE_DEFAULT_CAPABILITIES];
  const proc = spec.process!;
  proc.terminal = opts.terminal ?? false;
  proc.args = processArgs(exec.Entrypoint, exec.Cmd, opts.args, imageName);
  proc.env = processEnv(exec.Env, opts.env, extraEnv);
  proc.cwd = processCwd(exec.WorkingDir, opts.cwd);
  proc.user = { uid: user.uid, gid: user.gid, ...(user.additionalGids?.length ? { additionalGids: user.additionalGids } : {}) };
  proc.capabilities = { bounding: [...caps], effective: [...caps], permitted: [...caps] };

  spec.root = { path: rootfsDir, readonly: opts.readonlyRootfs ?? false };
  if (opts.hostname !== undefined) {
    // The kernel's limit (HOST_NAME_MAX): sethostname would refuse it only at create.
    if (opts.hostname.length > 64) throw imageError("hostname override", `${JSON.stringify(opts.hostname)} is longer than 64 characters`);
    spec.hostname = opts.hostname;
  }
  spec.mounts = [...(spec.mounts ?? []), ...volumeMounts(exec.Volumes, rootfsDir)];
  spec.linux!.seccomp = defaultSeccompProfile(nativeArch(), caps);
  spec.annotations = imageAnnotations(config);

  // The overrides (hostname, args, …) come from the caller: check the whole as `create`
  // will, naming the converted config rather than a config.json that does not exist yet.
  try {
    validateSpec(spec);
  } catch (err) {
    if (err instanceof BuncError) throw new BuncError(err.code, err.message.replace(/^config\.json: /, "converted runtime config: "), err.errno);
    throw err;
  }
  return spec;
}

/** Write `config` as `<dir>/config.json` (atomically: a temp file renamed into place). */
export function writeBundleConfig(dir: string, config: Spec): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "config.json");
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(config, null, 2) + "\n", { mode: 0o644 });
  renameSync(tmp, file);
  return file;
}
