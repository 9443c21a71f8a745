// Reading a bundle's config.json, apart from checking it: `create` reads the text first and
// starts the init while the schema module loads and checks it.
import { ENOENT } from "../../ffi/errors.ts";
import { readTextFile } from "../../ffi/files.ts";
import { BuncError, messageOf } from "../errors.ts";
import { joinPath } from "../linux/posix-path.ts";

export function readConfigText(bundleDir: string): { file: string; text: string } {
  const file = joinPath(bundleDir, "config.json");
  try {
    return { file, text: readTextFile(file) };
  } catch (err) {
    const errno = (err as { errno?: number }).errno;
    if (errno === ENOENT) throw new BuncError("config", `${file}: no such file: the bundle has no config.json`, errno);
    throw new BuncError("config", `${file}: cannot read: ${messageOf(err)}`, errno);
  }
}
