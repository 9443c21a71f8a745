// `run --image REF [flags] [ID] [-- command...]`: run a container straight from an image.
// The image is opened (pulled when it names a registry and is not in the store), its layers
// are unpacked once per chain ID into the store, as they download when it is pulled
// (image/run/rootfs-cache.ts), and the container gets an overlay on that tree in
// <root>/@image/<id>/, which also holds the bundle's config.json
// (image/run/container-rootfs.ts). Then it is the plain `run`. As with
// docker, the container is kept once its process exits unless --rm; `bunc delete` removes
// it together with its image directory. Without -i or -t its stdin is /dev/null; with -d
// all of its stdio is. Run by a user with /etc/subuid and /etc/subgid ranges, the image is
// unpacked into those sub-ids and the container gets the same maps (mapped-storage.ts), so
// it sees the image's own owners.
import { closeSync, openSync, statSync } from "node:fs";
import { isAbsolute } from "node:path";
import { randomBytes } from "node:crypto";
import { boolOption, listOption, stringOption } from "../args.ts";
import { BuncError } from "../../errors.ts";
import { runtimeConfigFromImage, writeBundleConfig } from "../../image/convert/runtime-config.ts";
import { parsePlatform } from "../../image/platform.ts";
import { claimImageRunDir, makeContainerRootfs, removeImageRunDir } from "../../image/run/container-rootfs.ts";
import { openImageWithRootfs } from "../../image/run/rootfs-cache.ts";
import { MappedStorage } from "../../image/run/mapped-storage.ts";
import { wideIdMaps } from "../../linux/subids.ts";
import { toRootless } from "../../runtime/rootless-spec.ts";
import { isRootless } from "../../runtime/rootless.ts";
import { checkId } from "../../runtime/state-store.ts";
import type { Mount } from "../../spec/runtime-config.ts";
import { print, type CommandContext } from "./context.ts";
import { run } from "./run.ts";
import { resourcesFromFlags } from "./update.ts";

const usage = (msg: string) => new BuncError("usage", msg);

/** -v SRC:DST[:ro|rw] as a bind mount; SRC must exist on the host. */
export function volumeMount(value: string): Mount {
  const parts = value.split(":");
  const bad = (why: string) => usage(`invalid value for --volume: ${JSON.stringify(value)}: ${why}`);
  if (parts.length < 2 || parts.length > 3) throw bad("not SRC:DST or SRC:DST:ro");
  const [source, destination, mode = "rw"] = parts as [string, string, string?];
  if (!isAbsolute(source) || !isAbsolute(destination)) throw bad("SRC and DST must be absolute paths");
  if (mode !== "ro" && mode !== "rw") throw bad(`the mode must be ro or rw, not ${JSON.stringify(mode)}`);
  try {
    statSync(source);
  } catch (err) {
    throw bad(`${source}: ${(err as Error).message}`);
  }
  return { destination, type: "bind", source, options: ["rbind", mode] };
}

export async function runImage(ctx: CommandContext): Promise<number> {
  const o = ctx.options;
  const ref = stringOption(o, "image")!;
  const split = ctx.dashDash ?? ctx.positionals.length;
  const before = ctx.positionals.slice(0, split);
  const after = ctx.positionals.slice(split);
  const id = stringOption(o, "name") ?? before.shift() ?? randomBytes(6).toString("hex");
  checkId(id);
  const args = [...before, ...after];
  const detach = boolOption(o, "detach");
  const remove = boolOption(o, "rm");
  if (detach && remove) throw usage("--rm and --detach do not go together: nothing would be left to remove the container");
  // Every flag is checked before anything is pulled, unpacked or mounted.
  const mounts = listOption(o, "volume").map(volumeMount);
  const resources = resourcesFromFlags((flag) => (flag === "memory" || flag === "pids-limit" ? stringOption(o, flag) : undefined));
  const platform = stringOption(o, "platform");
  if (ctx.store.exists(id)) throw usage(`container "${id}" already exists`);

  const store = ctx.global.store;
  const rootless = isRootless(ctx.global.rootless);
  const wide = rootless ? wideIdMaps(process.geteuid!(), process.getegid!()) : undefined;
  const storage = wide ? new MappedStorage(wide) : undefined;
  let image: Awaited<ReturnType<typeof openImageWithRootfs>>["image"];
  let dir: string;
  let rootfs: string;
  let mapped: boolean;
  try {
    const opened = await openImageWithRootfs(ref, { store, rootless, storage, ...(platform !== undefined && { platform: parsePlatform(platform) }) });
    image = opened.image;
    const cached = opened.rootfs;
    mapped = cached.mapped;
    try {
      dir = claimImageRunDir(ctx.global.root, id);
      try {
        rootfs = makeContainerRootfs(cached.tree, dir, mapped ? storage : undefined).rootfs;
      } catch (err) {
        removeImageRunDir(ctx.global.root, id);
        throw err;
      }
    } finally {
      cached.release();
    }
  } finally {
    storage?.close();
  }
  let devNull: number | undefined;
  try {
    const user = stringOption(o, "user");
    const cwd = stringOption(o, "workdir");
    const hostname = stringOption(o, "hostname");
    const config = runtimeConfigFromImage(image.config, rootfs, {
      args,
      env: listOption(o, "env"),
      terminal: boolOption(o, "tty"),
      readonlyRootfs: boolOption(o, "read-only"),
      imageName: ref,
      ...(user !== undefined && { user }),
      ...(cwd !== undefined && { cwd }),
      ...(hostname !== undefined && { hostname }),
    });
    config.root = { ...config.root, path: "rootfs" };
    config.mounts = [...(config.mounts ?? []), ...mounts];
    if (Object.keys(resources).length > 0) config.linux = { ...config.linux, resources: { ...config.linux?.resources, ...resources } };
    // Run by a user without root: the config that user can run (bunc spec --rootless's changes).
    writeBundleConfig(dir, rootless && config.linux ? toRootless(config, process.geteuid!(), process.getegid!(), mapped ? wide : undefined) : config);

    // Detached, nothing reads or writes the container's stdio: /dev/null, so the caller's
    // pipes close when bunc exits. Else stdin unless -i or -t.
    if (detach || (!boolOption(o, "interactive") && !boolOption(o, "tty"))) devNull = openSync("/dev/null", "r+");
    const stdio = devNull === undefined ? undefined : detach ? ([devNull, devNull, devNull] as const) : ([devNull, 1, 2] as const);
    const runCtx: CommandContext = { ...ctx, positionals: [id], options: { ...o, bundle: dir, keep: !remove } };
    const code = await run(runCtx, stdio !== undefined ? { stdio } : {});
    if (detach) print(id);
    else if (remove) removeImageRunDir(ctx.global.root, id);
    return code;
  } catch (err) {
    // A container that exists owns the directory; its delete removes it.
    if (!ctx.store.exists(id)) removeImageRunDir(ctx.global.root, id);
    throw err;
  } finally {
    if (devNull !== undefined) closeSync(devNull);
  }
}
