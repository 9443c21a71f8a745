// Which xattrs of a layer reach the disk, as umoci does for a plain directory rootfs:
// security.selinux labels are the host policy's business and system.nfs4_acl is specific to
// one NFS server, so both are dropped; security.capability (file capabilities) and the rest,
// trusted.overlay.* included, are written as they are.
const DROPPED = new Set(["security.selinux", "system.nfs4_acl"]);

/** The on-disk name for a layer xattr, or undefined to drop it. */
export function filterXattr(name: string): string | undefined {
  return DROPPED.has(name) ? undefined : name;
}
