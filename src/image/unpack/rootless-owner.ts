// File owners of an image unpacked by a user without root, as umoci does: the owner a layer
// gives an entry is kept in the `user.rootlesscontainers` xattr (a protobuf message
// `Resource { uint32 uid = 1; uint32 gid = 2; }`, zero fields left out), since the file
// itself can only belong to the user. Entries owned by root need no xattr. Where a user
// xattr cannot go (symlinks, file systems without them) the owner is lost: squashed to the
// user, and counted for one warning that names the highest ids the image needs.

import { BuncError } from "../../errors.ts";

export const ROOTLESS_XATTR = "user.rootlesscontainers";

/** An entry whose owner the user namespace of a mapped unpack does not map. */
export class UnmappedOwnerError extends BuncError {
  constructor(
    readonly entry: string,
    readonly uid: number,
    readonly gid: number,
  ) {
    super("layer", `entry "${entry}": owner ${uid}:${gid} is not mapped in the user namespace`);
  }
}

function varint(n: number, out: number[]): void {
  let v = n >>> 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
}

/** The xattr value for an owner; empty for root:root, which needs none. */
export function encodeRootlessOwner(uid: number, gid: number): Uint8Array {
  const out: number[] = [];
  if (uid !== 0) {
    out.push(0x08); // field 1, varint
    varint(uid, out);
  }
  if (gid !== 0) {
    out.push(0x10); // field 2, varint
    varint(gid, out);
  }
  return new Uint8Array(out);
}

/** Tallies what a rootless unpack did with owners, for its one warning. */
export class OwnerTally {
  maxUid = 0;
  maxGid = 0;
  kept = 0;
  squashed = 0;

  note(uid: number, gid: number, kept: boolean): void {
    if (uid === 0 && gid === 0) return;
    this.maxUid = Math.max(this.maxUid, uid);
    this.maxGid = Math.max(this.maxGid, gid);
    if (kept) this.kept++;
    else this.squashed++;
  }

  /** The warning for the whole unpack, or undefined when every file is root's. */
  warning(): string | undefined {
    if (this.kept === 0 && this.squashed === 0) return undefined;
    const needs = `the image's files belong to uids up to ${this.maxUid} and gids up to ${this.maxGid}`;
    const kept = this.kept ? `${this.kept} owner(s) kept in the ${ROOTLESS_XATTR} xattr` : "";
    const squashed = this.squashed ? `${this.squashed} owner(s) could not be kept (no user xattrs there) and are yours now` : "";
    return `not running as root: ${needs}; ${[kept, squashed].filter(Boolean).join("; ")}`;
  }
}
