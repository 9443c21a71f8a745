// A container without its own mount namespace mounts onto the host's table (runc allows
// it). Those mounts are the container's: delete, and a failed create, take them off again.
import { MNT_DETACH } from "../../ffi/constants.ts";
import { linuxSys } from "../../ffi/sys.ts";
import { has } from "../linux/namespaces.ts";
import { mountsUnder, readMountinfo } from "../linux/mountinfo.ts";
import type { Spec } from "../spec/runtime-config.ts";

export const sharesHostMounts = (config: Spec) => !has(config.linux?.namespaces, "mount");

export function unmountRootfs(rootfs: string): void {
  for (const target of mountsUnder(rootfs, readMountinfo()).reverse()) {
    try {
      linuxSys.umount(target, MNT_DETACH);
    } catch {
      // Already gone with a parent's lazy unmount.
    }
  }
}
