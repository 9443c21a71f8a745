// The directory bunc makes for a container it runs from an image, beside the state dirs:
//   <root>/@image/<id>/config.json   the bundle's config (root.path = rootfs)
//   <root>/@image/<id>/rootfs        an overlay: the cached tree read-only below, upper on top
//   <root>/@image/<id>/upper, work   the container's writes and overlayfs's work dir
// "@" is not allowed in ids, so the directory never clashes with a container's state dir.
// Where overlayfs cannot be mounted (no module, a filesystem it will not stack on) rootfs is
// a full copy of the cached tree instead (made in the storage stage when the tree's owners
// are the caller's sub-ids). The directory goes when the container is deleted.
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { removeTree, type MappedStorage } from "./mapped-storage.ts";
import { join, resolve } from "node:path";
import { MNT_DETACH } from "../../../ffi/constants.ts";
import { linuxSys } from "../../../ffi/sys.ts";
import { BuncError } from "../../errors.ts";
import { log } from "../../log.ts";
import { mountsUnder, readMountinfo } from "../../linux/mountinfo.ts";
import { copyTree } from "./copy-tree.ts";
import { IMAGE_RUN_DIR, imageRunDir } from "./image-run-dir.ts";

const EPERM = 1;
const ENODEV = 19;
const EINVAL = 22;

export { IMAGE_RUN_DIR, imageRunDir } from "./image-run-dir.ts";

/** Makes the container's directory; a usage error if one is there (the id is taken). */
export function claimImageRunDir(root: string, id: string): string {
  const dir = imageRunDir(root, id);
  mkdirSync(join(resolve(root), IMAGE_RUN_DIR), { recursive: true, mode: 0o711 });
  try {
    mkdirSync(dir, { mode: 0o711 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new BuncError("usage", `container "${id}" already exists`);
    throw err;
  }
  return dir;
}

// overlayfs splits its options on "," and its lower dirs on ":"; "\" escapes.
const OVERLAY_UNSAFE = /[,:\\]/;

/**
 * `<dir>/rootfs`: an overlay on `lower`, or a copy of it. Says which. `mapped`: the tree's
 * owners are the caller's sub-ids, copied by that storage stage.
 */
export function makeContainerRootfs(lower: string, dir: string, mapped?: MappedStorage): { rootfs: string; overlay: boolean } {
  const rootfs = join(dir, "rootfs");
  if (mapped) {
    mapped.copy(lower, rootfs);
    return { rootfs, overlay: false };
  }
  const upper = join(dir, "upper");
  const work = join(dir, "work");
  if (!OVERLAY_UNSAFE.test(lower + dir)) {
    mkdirSync(upper, { mode: 0o755 });
    mkdirSync(work, { mode: 0o700 });
    mkdirSync(rootfs, { mode: 0o755 });
    try {
      linuxSys.mount("overlay", rootfs, "overlay", 0, `lowerdir=${lower},upperdir=${upper},workdir=${work}`);
      return { rootfs, overlay: true };
    } catch (err) {
      const errno = err instanceof BuncError ? err.errno : undefined;
      if (errno !== EINVAL && errno !== ENODEV && errno !== EPERM) throw err;
      log("debug", `overlayfs unavailable (${(err as Error).message}): copying the image's tree`);
      rmSync(rootfs, { recursive: true });
      rmSync(upper, { recursive: true });
      rmSync(work, { recursive: true });
    }
  }
  copyTree(lower, rootfs);
  return { rootfs, overlay: false };
}

/** Unmounts and removes the container's image directory, if it has one. */
export function removeImageRunDir(root: string, id: string): void {
  const dir = imageRunDir(root, id);
  if (!existsSync(dir)) return;
  const rootfs = join(dir, "rootfs");
  for (const target of mountsUnder(rootfs, readMountinfo()).reverse()) {
    try {
      linuxSys.umount(target, MNT_DETACH);
    } catch {
      // Already gone with a parent's lazy unmount.
    }
  }
  removeTree(dir);
}
