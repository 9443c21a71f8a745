import { stringOption } from "../args.ts";
import { BuncError } from "../../errors.ts";
import { defaultAuthFileForWrite, removeCredentials } from "../../image/registry/credentials.ts";
import { loginKey } from "../../image/registry/login.ts";
import type { CommandContext } from "./context.ts";

/** `bunc logout REGISTRY`: removes what `bunc login` saved for it. */
export async function logout(ctx: CommandContext): Promise<number> {
  const key = loginKey(ctx.positionals[0]!);
  const file = stringOption(ctx.options, "authfile") ?? defaultAuthFileForWrite();
  if (!(await removeCredentials(key, { file }))) throw new BuncError("not-found", `logout: not logged in to ${key} (${file} has no entry for it)`);
  return 0;
}
