// Where a container run from an image keeps its bundle: <root>/@image/<id> (container-rootfs.ts
// makes and removes it). Apart so that `delete` can look for it without loading the image code.
import { joinPath, resolvePath } from "../../linux/posix-path.ts";

export const IMAGE_RUN_DIR = "@image";

export function imageRunDir(root: string, id: string): string {
  return joinPath(resolvePath(root), IMAGE_RUN_DIR, id);
}
