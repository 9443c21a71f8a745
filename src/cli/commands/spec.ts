import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { boolOption, stringOption } from "../args.ts";
import { BuncError } from "../../errors.ts";
import { defaultSpec, toRootless } from "../../runtime/default-spec.ts";
import type { CommandContext } from "./context.ts";

export function spec(ctx: CommandContext): number {
  const dir = stringOption(ctx.options, "bundle") ?? ".";
  const file = join(dir, "config.json");
  if (existsSync(file)) throw new BuncError("usage", `${file} exists: remove it first`);
  let config = defaultSpec();
  if (boolOption(ctx.options, "rootless")) config = toRootless(config, process.geteuid!(), process.getegid!());
  writeFileSync(file, `${JSON.stringify(config, null, "\t")}\n`, { mode: 0o644 });
  return 0;
}
