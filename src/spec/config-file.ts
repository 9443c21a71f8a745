// Reading a bundle's config.json, apart from checking it: `create` reads the text first and
// starts the init while the schema module loads and checks it.
import { readFileSync } from "node:fs";
import { constants } from "node:os";
import { join } from "node:path";
import { BuncError, messageOf } from "../errors.ts";

export function readConfigText(bundleDir: string): { file: string; text: string } {
  const file = join(bundleDir, "config.json");
  try {
    return { file, text: readFileSync(file, "utf8") };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const errno = code ? (constants.errno as Record<string, number>)[code] : undefined;
    if (code === "ENOENT") throw new BuncError("config", `${file}: no such file: the bundle has no config.json`, errno);
    throw new BuncError("config", `${file}: cannot read: ${messageOf(err)}`, errno);
  }
}
