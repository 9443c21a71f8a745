// image-spec config.md's ChainID: the identity of a stack of layers, so one unpacked tree
// serves every image that shares the same layers in the same order.
import { createHash } from "node:crypto";

/** ChainID(L0) = DiffID(L0); ChainID(L0|…|Ln) = sha256(ChainID(L0|…|Ln-1) + " " + DiffID(Ln)). */
export function chainId(diffIds: readonly string[]): string {
  if (diffIds.length === 0) throw new Error("an image without layers has no chain ID");
  let id = diffIds[0]!;
  for (const diff of diffIds.slice(1)) id = "sha256:" + createHash("sha256").update(`${id} ${diff}`).digest("hex");
  return id;
}
